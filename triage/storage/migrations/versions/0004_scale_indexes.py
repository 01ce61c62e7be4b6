"""scale indexes: a band's newest tickets first, the review queue's own index, and one
that covers every column the summary reads

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 04:45:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

QUEUED = "review_reason IS NOT NULL AND reviewed_at IS NULL"
SUMMARY = [
    *("created_at", "category", "department", "kind", "channel", "status"),
    *("needs_review", "review_reason", "due_at", "closed_at"),
]


def upgrade() -> None:
    # (band, hash, ticket_id): repeat linking reads each band's newest tickets backwards.
    with op.batch_alter_table("ticket_bands", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_bands_band_hash")
        batch_op.create_index("ix_ticket_bands_band_hash_ticket", ["band", "hash", "ticket_id"], unique=False)
    # Only the tickets awaiting a person: the queue reads this, not the million others.
    op.create_index(
        "ix_tickets_review_queue",
        "tickets",
        ["margin", "id"],
        unique=False,
        sqlite_where=sa.text(QUEUED),
        postgresql_where=sa.text(QUEUED),
    )

    # Every column the summary groups or measures, by time: it reads this, not the rows.
    op.create_index("ix_tickets_summary", "tickets", SUMMARY, unique=False)


def downgrade() -> None:
    op.drop_index("ix_tickets_summary", table_name="tickets")
    op.drop_index("ix_tickets_review_queue", table_name="tickets")
    with op.batch_alter_table("ticket_bands", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_bands_band_hash_ticket")
        batch_op.create_index("ix_ticket_bands_band_hash", ["band", "hash"], unique=False)
