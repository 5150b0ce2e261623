"""contact.country_said: whether the person said where they are (else the SIM's guess)

Revision ID: 0003_countries
Revises: 0003_understanding
Create Date: 2026-11-30 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_countries"
down_revision: str | None = "0003_understanding"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("contact") as batch:
        batch.add_column(
            sa.Column("country_said", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("contact") as batch:
        batch.drop_column("country_said")
