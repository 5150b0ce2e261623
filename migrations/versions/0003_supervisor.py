"""daily counts by country; each advocate's console language

Contacts per day are now counted by country too (an ISO 3166 code, "" while unknown),
so ``daily_count`` gains ``country`` in its key: the table is rebuilt with the old rows
kept under the unknown country. Advocates choose the language of their console.

Revision ID: 0003_supervisor
Revises: 0003_ops
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0003_supervisor"
down_revision: str | None = "0003_ops"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _daily_count(name: str, *, with_country: bool) -> None:
    key = ["day", "channel", "language", *(["country"] if with_country else []), "metric"]
    op.create_table(
        name,
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        *(
            [
                sa.Column(
                    "country",
                    sqlmodel.sql.sqltypes.AutoString(length=2),
                    nullable=False,
                    server_default="",
                )
            ]
            if with_country
            else []
        ),
        sa.Column("metric", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(*key, name=f"pk_{name}"),
    )


def upgrade() -> None:
    with op.batch_alter_table("advocate") as batch:
        batch.add_column(
            sa.Column(
                "console_language",
                sqlmodel.sql.sqltypes.AutoString(length=8),
                nullable=False,
                server_default="",
            )
        )
    _daily_count("daily_count_by_country", with_country=True)
    op.execute(
        "INSERT INTO daily_count_by_country (day, channel, language, country, metric, count) "
        "SELECT day, channel, language, '', metric, count FROM daily_count"
    )
    op.drop_table("daily_count")
    op.rename_table("daily_count_by_country", "daily_count")


def downgrade() -> None:
    _daily_count("daily_count_old", with_country=False)
    op.execute(
        "INSERT INTO daily_count_old (day, channel, language, metric, count) "
        "SELECT day, channel, language, metric, SUM(count) FROM daily_count "
        "GROUP BY day, channel, language, metric"
    )
    op.drop_table("daily_count")
    op.rename_table("daily_count_old", "daily_count")
    with op.batch_alter_table("advocate") as batch:
        batch.drop_column("console_language")
