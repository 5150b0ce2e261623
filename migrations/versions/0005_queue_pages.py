"""the waiting line read a page at a time

One index in the console's order (status, then urgent, then waiting time, then id)
so a screenful of the line, and the next one after it, is a short index range scan
rather than a sort of every waiting ticket. The language at its end lets a page skip
the languages it does not want, and the totals by language and urgency be counted,
from the index alone.

Revision ID: 0005_queue_pages
Revises: 0004_console_timezone
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005_queue_pages"
down_revision: str | None = "0004_console_timezone"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_ticket_line", "ticket", ["status", "urgent", "created_at", "id", "language"]
    )


def downgrade() -> None:
    op.drop_index("ix_ticket_line", table_name="ticket")
