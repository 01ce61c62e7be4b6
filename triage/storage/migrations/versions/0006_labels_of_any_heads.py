"""labels of any heads: a ticket (and a verdict) keeps the labels of whichever heads its
model had in a JSON ``labels`` column; ``category`` and ``department`` stay as indexed
columns, NULL when the model has no such head; the fixed ``kind`` column goes (its labels
are kept in ``labels``)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 17:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

QUEUED = "review_reason IS NOT NULL AND reviewed_at IS NULL"
OLD_SUMMARY = [
    *("created_at", "category", "department", "kind", "channel", "status"),
    *("needs_review", "review_reason", "due_at", "closed_at"),
]
SUMMARY = [h for h in OLD_SUMMARY if h != "kind"]
OLD_HEADS = ("category", "department", "kind")  # the three columns before this revision


def _json_of_columns() -> str:
    """SQL building {"category": category, ...} from the old columns, on this backend."""
    build = "json_build_object" if op.get_bind().dialect.name == "postgresql" else "json_object"
    pairs = ", ".join(f"'{h}', {h}" for h in OLD_HEADS)
    return f"{build}({pairs})"


def _label_of(head: str) -> str:
    if op.get_bind().dialect.name == "postgresql":
        return f"(labels ->> '{head}')"
    return f"json_extract(labels, '$.{head}')"


def _drop_queue_indexes() -> None:
    # Dropped around the table changes: SQLite rebuilds the table, and these two are made
    # again afterwards exactly as wanted (one partial, one without kind).
    op.drop_index("ix_tickets_summary", table_name="tickets")
    op.drop_index("ix_tickets_review_queue", table_name="tickets")


def _create_queue_indexes(summary: list[str]) -> None:
    op.create_index(
        "ix_tickets_review_queue",
        "tickets",
        ["margin", "id"],
        unique=False,
        sqlite_where=sa.text(QUEUED),
        postgresql_where=sa.text(QUEUED),
    )
    op.create_index("ix_tickets_summary", "tickets", summary, unique=False)


def upgrade() -> None:
    _drop_queue_indexes()
    for table in ("tickets", "corrections"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("labels", sa.JSON(), nullable=True))
        op.execute(f"UPDATE {table} SET labels = {_json_of_columns()}")
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column("labels", existing_type=sa.JSON(), nullable=False)
            batch_op.alter_column("category", existing_type=sa.String(length=64), nullable=True)
            batch_op.alter_column("department", existing_type=sa.String(length=64), nullable=True)
            wide = "uncertain_heads" if table == "tickets" else "changed"
            batch_op.alter_column(
                wide, existing_type=sa.String(length=64), type_=sa.String(length=255), existing_nullable=False
            )
            batch_op.drop_column("kind")
    _create_queue_indexes(SUMMARY)


def downgrade() -> None:
    _drop_queue_indexes()
    for table in ("tickets", "corrections"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("kind", sa.String(length=64), nullable=True))
        # A model without a head leaves '' where the old schema wanted a label.
        op.execute(
            f"UPDATE {table} SET kind = COALESCE({_label_of('kind')}, ''), "
            "category = COALESCE(category, ''), department = COALESCE(department, '')"
        )
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column("kind", existing_type=sa.String(length=64), nullable=False)
            batch_op.alter_column("category", existing_type=sa.String(length=64), nullable=False)
            batch_op.alter_column("department", existing_type=sa.String(length=64), nullable=False)
            wide = "uncertain_heads" if table == "tickets" else "changed"
            batch_op.alter_column(
                wide, existing_type=sa.String(length=255), type_=sa.String(length=64), existing_nullable=False
            )
            batch_op.drop_column("labels")
    _create_queue_indexes(OLD_SUMMARY)
