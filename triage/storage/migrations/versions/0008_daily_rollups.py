"""daily rollups: counts per UTC day, department, dimension and value, filled from the
tickets; the open tickets' own index (overdue); time to close on an index (percentiles)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 17:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

OPEN = "status != 'closed'"
CLOSED = "closed_at IS NOT NULL"


def upgrade() -> None:
    op.create_table(
        "daily_counts",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("dimension", sa.Text(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "department", "dimension", "value", name="pk_daily_counts"),
    )
    # Overdue depends on the clock, so it is counted over the open tickets alone.
    op.create_index(
        "ix_tickets_open",
        "tickets",
        ["due_at", "created_at", "department"],
        unique=False,
        sqlite_where=sa.text(OPEN),
        postgresql_where=sa.text(OPEN),
    )
    from triage.storage.rollups import CLOSE_SECONDS, rebuild

    bind = op.get_bind()
    seconds = CLOSE_SECONDS.get(bind.dialect.name)
    if seconds is not None:
        # Both timestamps in it too: PostgreSQL reads an expression from an index alone
        # (index-only) only when the columns it is made of are there as well.
        op.execute(
            f"CREATE INDEX ix_tickets_close_seconds ON tickets ({seconds}, created_at, department, closed_at)"
            f" WHERE {CLOSED}"
        )
    rebuild(bind)


def downgrade() -> None:
    if op.get_bind().dialect.name in ("postgresql", "sqlite"):
        op.drop_index("ix_tickets_close_seconds", table_name="tickets")
    op.drop_index("ix_tickets_open", table_name="tickets")
    op.drop_table("daily_counts")
