"""review, corrections, send-backs, model registry, repeats

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 18:46:38.608588
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("forced", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "corrections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=True),
        sa.Column("predicted", sa.JSON(), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("changed", sa.String(length=64), nullable=False),
        sa.Column("new_label", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("corrections", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_corrections_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_corrections_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "returns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("suggested_department", sa.String(length=64), nullable=True),
        sa.Column("routed_to", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("returns", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_returns_ticket_id"), ["ticket_id"], unique=False)

    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("review_reason", sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column("uncertain_heads", sa.String(length=64), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("margin", sa.Float(), nullable=False, server_default="1.0"))
        batch_op.add_column(sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("duplicate_of", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("cluster_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_tickets_cluster_id"), ["cluster_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tickets_review_reason"), ["review_reason"], unique=False)
        batch_op.create_foreign_key("fk_tickets_duplicate_of", "tickets", ["duplicate_of"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        # WARNING: constraint name is None; this directive will fail as
        # rendered.  Add a name, or use a naming convention; see
        # https://alembic.sqlalchemy.org/en/latest/naming.html
        batch_op.drop_constraint("fk_tickets_duplicate_of", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_tickets_review_reason"))
        batch_op.drop_index(batch_op.f("ix_tickets_cluster_id"))
        batch_op.drop_column("cluster_id")
        batch_op.drop_column("duplicate_of")
        batch_op.drop_column("reviewed_at")
        batch_op.drop_column("margin")
        batch_op.drop_column("uncertain_heads")
        batch_op.drop_column("review_reason")

    with op.batch_alter_table("returns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_returns_ticket_id"))

    op.drop_table("returns")
    with op.batch_alter_table("corrections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_corrections_ticket_id"))
        batch_op.drop_index(batch_op.f("ix_corrections_at"))

    op.drop_table("corrections")
    op.drop_table("model_events")
