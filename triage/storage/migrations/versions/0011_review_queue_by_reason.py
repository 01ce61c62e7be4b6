"""review queue by reason: the queue's index leads with the review reason, so each reason's
most uncertain tickets are read in order without fetching every awaiting ticket

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 20:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

QUEUED = "review_reason IS NOT NULL AND reviewed_at IS NULL"


def _queue_index(columns: list[str]) -> None:
    op.drop_index("ix_tickets_review_queue", table_name="tickets")
    op.create_index(
        "ix_tickets_review_queue",
        "tickets",
        columns,
        unique=False,
        sqlite_where=sa.text(QUEUED),
        postgresql_where=sa.text(QUEUED),
    )


def upgrade() -> None:
    _queue_index(["review_reason", "margin", "id"])


def downgrade() -> None:
    _queue_index(["margin", "id"])
