"""Writing many rows at once, for imports: COPY on PostgreSQL, multi-row INSERTs elsewhere.

The ORM's per-object bookkeeping costs more than the database's own work when a million
tickets come in; these functions take plain rows and write them in the caller's transaction.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, insert, select, text

from triage.storage.schema import Base, Ticket

__all__ = ["TICKET_COLUMNS", "existing_external_ids", "insert_rows", "insert_tickets"]

TICKET_COLUMNS = (
    *("code", "created_at", "updated_at", "channel", "title", "text", "text_masked", "status"),
    *("category", "department", "labels", "prediction", "model_version", "needs_review"),
    *("confidence", "due_at", "closed_at", "uncertain_heads", "margin", "external_id"),
)
JSON_COLUMNS = {"labels", "prediction"}


def existing_external_ids(conn: Connection, ids: Sequence[str]) -> set[str]:
    """Of ``ids``, those a stored ticket already has."""
    if not ids:
        return set()
    found = conn.execute(select(Ticket.external_id).where(Ticket.external_id.in_(list(ids))))
    return {str(x) for (x,) in found}


def insert_tickets(conn: Connection, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert tickets (dicts of TICKET_COLUMNS), returning their ids in order."""
    if not rows:
        return []
    if conn.dialect.name == "postgresql":
        # Ids drawn from the table's own sequence (so intake running meanwhile never collides),
        # then one COPY.
        ids = [
            int(i)
            for (i,) in conn.execute(
                text("SELECT nextval(pg_get_serial_sequence('tickets', 'id')) FROM generate_series(1, :n)"),
                {"n": len(rows)},
            )
        ]
        columns = ("id", *TICKET_COLUMNS)
        _copy(
            conn,
            "tickets",
            columns,
            [(tid, *(_pg(c, row[c]) for c in TICKET_COLUMNS)) for tid, row in zip(ids, rows, strict=True)],
        )
        return ids
    query = insert(Ticket).returning(Ticket.id, sort_by_parameter_order=True)
    return [int(i) for (i,) in conn.execute(query, list(rows))]


def insert_rows(
    conn: Connection, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """Plain rows (tuples in ``columns`` order) into ``table`` (ticket_events, ticket_bands)."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        _copy(conn, table, columns, rows)
        return
    conn.execute(insert(Base.metadata.tables[table]), [dict(zip(columns, row, strict=True)) for row in rows])


def _pg(column: str, value: Any) -> Any:
    if column in JSON_COLUMNS:
        return json.dumps(value, ensure_ascii=False)
    return value


def _copy(conn: Connection, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
    raw: Any = conn.connection.dbapi_connection
    with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
