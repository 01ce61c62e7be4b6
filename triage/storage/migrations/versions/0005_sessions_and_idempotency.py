"""server-side page sessions; idempotency keys of ticket intake

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 05:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "page_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.Integer(), nullable=False),
        sa.Column("csrf", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["key_id"], ["api_keys.id"], name="fk_page_sessions_key_id", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_page_sessions"),
    )
    op.create_index("ix_page_sessions_key_id", "page_sessions", ["key_id"])
    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("caller", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name="fk_idempotency_keys_ticket_id", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_idempotency_keys"),
    )
    op.create_index("ux_idempotency_keys_caller_key", "idempotency_keys", ["caller", "key"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_idempotency_keys_caller_key", table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
    op.drop_index("ix_page_sessions_key_id", table_name="page_sessions")
    op.drop_table("page_sessions")
