"""repeat bands: MinHash LSH bands of each ticket, for linking repeat complaints

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 18:51:27.998379
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ticket_bands",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("band", sa.SmallInteger(), nullable=False),
        sa.Column("hash", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name="fk_ticket_bands_ticket_id", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("ticket_id", "band", name="pk_ticket_bands"),
    )
    with op.batch_alter_table("ticket_bands", schema=None) as batch_op:
        batch_op.create_index("ix_ticket_bands_band_hash", ["band", "hash"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ticket_bands", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_bands_band_hash")
    op.drop_table("ticket_bands")
