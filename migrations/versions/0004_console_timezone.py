"""each advocate's console time zone

Advocates choose the time zone their console shows times in (an IANA name such as
``Europe/Bucharest``); "" means the line's default (``HELPLINE_CONSOLE_TIMEZONE``).

Revision ID: 0004_console_timezone
Revises: 0003_supervisor
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004_console_timezone"
down_revision: str | None = "0003_supervisor"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("advocate") as batch:
        batch.add_column(
            sa.Column(
                "console_timezone",
                sqlmodel.sql.sqltypes.AutoString(length=64),
                nullable=False,
                server_default="",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("advocate") as batch:
        batch.drop_column("console_timezone")
