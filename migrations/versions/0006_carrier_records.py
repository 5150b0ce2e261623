"""message records still to delete at the carrier

The ids of Twilio message records the help line has yet to delete, so that none is
forgotten when a worker stops before it is done or dies. The id only: no number, no
body, no alias. ``claimed_at`` says which rows a live worker is working on; the others
(NULL or stale) are taken over (see ``bot/carrier_records.py``).

Revision ID: 0006_carrier_records
Revises: 0005_queue_pages
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006_carrier_records"
down_revision: str | None = "0005_queue_pages"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "carrier_record",
        sa.Column("sid", sqlmodel.sql.sqltypes.AutoString(length=34), nullable=False),
        sa.Column("queued_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("claimed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("sid"),
    )
    with op.batch_alter_table("carrier_record", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_carrier_record_claimed_at"), ["claimed_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("carrier_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_carrier_record_claimed_at"))
    op.drop_table("carrier_record")
