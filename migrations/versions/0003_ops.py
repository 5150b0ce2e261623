"""one open ticket per person

A double tap of "yes, connect me" (or fifty at once) opened one ticket per tap. The
database now holds at most one ticket that is not closed per contact alias. Duplicates
left by the old code are closed first, keeping each person's oldest ticket (their
place in line) and erasing the duplicates' sealed reply address.

Revision ID: 0003_ops
Revises: 0003_countries
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_ops"
down_revision: str | None = "0003_countries"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_ticket_one_open_per_contact"
OPEN = sa.text("status != 'closed'")


def upgrade() -> None:
    op.execute(
        """
        UPDATE ticket
           SET status = 'closed', closed_at = CURRENT_TIMESTAMP, address_ciphertext = NULL,
               outcomes = 'left'
         WHERE status != 'closed'
           AND contact_alias IS NOT NULL
           AND id != (SELECT MIN(older.id) FROM ticket AS older
                       WHERE older.contact_alias = ticket.contact_alias
                         AND older.status != 'closed')
        """
    )
    op.create_index(
        INDEX,
        "ticket",
        ["contact_alias"],
        unique=True,
        sqlite_where=OPEN,
        postgresql_where=OPEN,
    )


def downgrade() -> None:
    op.drop_index(INDEX, table_name="ticket")
