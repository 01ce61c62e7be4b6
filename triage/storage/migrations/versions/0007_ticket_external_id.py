"""ticket external id: the id a ticket had in the system it was imported from (`triage
tickets import --id`), unique, so importing the same file again adds nothing twice

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 17:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN (no table rebuild on SQLite); NULL for tickets taken in by intake,
    # and a unique index allows any number of NULLs on both databases.
    op.add_column("tickets", sa.Column("external_id", sa.String(length=128), nullable=True))
    op.create_index("ux_tickets_external_id", "tickets", ["external_id"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_tickets_external_id", table_name="tickets")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_column("external_id")
