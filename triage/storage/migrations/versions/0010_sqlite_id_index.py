"""an index of ticket ids alone, on SQLite: a deep page of the staff listing skips ids on it
instead of reading every row it skips (SQLite's rows live in the primary key's tree)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 20:05:00
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":  # PostgreSQL's primary key index is this already
        op.create_index("ix_tickets_id", "tickets", ["id"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.drop_index("ix_tickets_id", table_name="tickets")
