"""ticket words: each ticket's words as hotspots read them, so that a hotspot answer
segments nothing (filled by intake and import; `triage stats fill-words` for tickets stored
before)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 20:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Empty: segmenting every stored ticket here would hold the upgrade for many minutes at
    # a million tickets. Hotspots segment the tickets without words as before, and
    # `triage stats fill-words` fills them while the service runs.
    op.create_table(
        "ticket_words",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("words", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name="fk_ticket_words_ticket_id", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("ticket_id", name="pk_ticket_words"),
    )


def downgrade() -> None:
    op.drop_table("ticket_words")
