"""Recounting the daily rollups from the tickets in one SQL statement, so the database does
the counting (ten million tickets never pass through Python).

This is the SQL form of :func:`triage.storage.rollups.keys`; tests/test_rollups.py checks
the two agree (after a mix of writes, on SQLite and PostgreSQL).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from triage.errors import DatabaseUnusable

__all__ = ["recount"]

# (dimension, value) counted once per ticket; NULL values are not counted. ``s`` is one
# ticket's snapshot (_SNAPSHOT); the other heads come from its labels.
_PAIRS = (
    ("total", "''"),
    ("category", "coalesce(s.category, '')"),
    ("channel", "coalesce(s.channel, '')"),
    ("status", "coalesce(s.status, '')"),
    ("needs_review", "CASE WHEN s.needs_review THEN '1' END"),
    ("review_reason", "s.review_reason"),
    ("returned", "CASE WHEN s.returned THEN '1' END"),
    ("verdict", "s.verdict"),
    ("verdict_qc", "CASE WHEN s.review_reason = 'quality_check' THEN s.verdict END"),
    ("close", "CAST(s.close AS TEXT)"),
)

# What differs between the two databases: the UTC day, the latest verdict, the time-to-close
# bucket (rollups.bucket: bisect over EDGES) and the JSON functions.
_DIALECT = {
    "postgresql": {
        "day": "CAST(t.created_at AT TIME ZONE 'UTC' AS DATE)",
        # One pass over the corrections, not a lookup per ticket.
        "verdict": "v.changed",
        "join": " LEFT JOIN (SELECT DISTINCT ON (ticket_id) ticket_id, changed FROM corrections"
        " ORDER BY ticket_id, id DESC) AS v ON v.ticket_id = t.id",
        # width_bucket over the lower bounds is bisect_right over the same doubles.
        "close": "width_bucket({seconds}, CAST(:edges AS double precision[]))",
        "heads": "json_each_text(CASE WHEN json_typeof(s.labels) = 'object' THEN s.labels END)",
    },
    "sqlite": {
        "day": "substr(t.created_at, 1, 10)",
        "verdict": "(SELECT c.changed FROM corrections c WHERE c.ticket_id = t.id"
        " ORDER BY c.id DESC LIMIT 1)",
        "join": "",
        "close": "triage_close_bucket(t.created_at, t.closed_at)",
        "heads": "json_each(CASE WHEN json_type(s.labels) = 'object' THEN s.labels END)",
    },
}


def _statement(dialect: str, roles: tuple[str, ...], seconds: str) -> str:
    d = _DIALECT[dialect]
    snapshot = (
        f"SELECT {d['day']} AS day, coalesce(t.department, '') AS department, t.category, t.labels,"
        " t.channel, t.status, t.needs_review, t.review_reason,"
        " t.id IN (SELECT r.ticket_id FROM returns r) AS returned,"
        f" {d['verdict']} AS verdict,"
        f" CASE WHEN t.closed_at IS NOT NULL THEN {d['close'].format(seconds=seconds)} END AS close"
        f" FROM tickets t{d['join']}"
    )
    dims = " UNION ALL ".join(f"SELECT '{name}' AS dimension" for name, _ in _PAIRS)
    value = "CASE k.dimension " + " ".join(f"WHEN '{n}' THEN {v}" for n, v in _PAIRS) + " END"
    role_list = ", ".join(f"'{r}'" for r in roles)
    return (
        f"WITH s AS ({snapshot}), k AS ({dims}) "
        "INSERT INTO daily_counts (day, department, dimension, value, n) "
        "SELECT day, department, dimension, value, sum(n) FROM ("
        f" SELECT s.day, s.department, k.dimension, {value} AS value, count(*) AS n"
        " FROM s CROSS JOIN k GROUP BY 1, 2, 3, 4"
        " UNION ALL"
        " SELECT s.day, s.department, h.key, CAST(h.value AS TEXT), count(*)"
        f" FROM s, {d['heads']} AS h WHERE h.key NOT IN ({role_list}) AND h.value IS NOT NULL"
        " GROUP BY 1, 2, 3, 4"
        ") AS pairs WHERE value IS NOT NULL GROUP BY 1, 2, 3, 4"
    )


def recount(conn: Session | Connection, edges: tuple[float, ...], roles: tuple[str, ...]) -> int:
    """Replace every rollup row by a fresh count of the tickets (not committed); returns
    the rows written."""
    from triage.storage.rollups import CLOSE_SECONDS, bucket

    bind = conn.get_bind() if isinstance(conn, Session) else conn
    dialect = bind.dialect.name
    if dialect not in _DIALECT:
        raise DatabaseUnusable(f"The rollups are counted on SQLite and PostgreSQL only, not on {dialect}.")
    params: dict[str, Any] = {}
    if dialect == "sqlite":
        raw = (conn.connection() if isinstance(conn, Session) else conn).connection.dbapi_connection

        def close_bucket(created: str, closed: str) -> int:
            start, end = datetime.fromisoformat(created), datetime.fromisoformat(closed)
            return bucket((end - start).total_seconds())

        raw.create_function("triage_close_bucket", 2, close_bucket, deterministic=True)  # type: ignore[union-attr]
    else:
        params["edges"] = list(edges)
        conn.execute(text("SET LOCAL work_mem = '256MB'"))  # the grouping stays in memory
    conn.execute(text("DELETE FROM daily_counts"))
    conn.execute(text(_statement(dialect, roles, CLOSE_SECONDS[dialect])), params)
    return int(conn.scalar(text("SELECT count(*) FROM daily_counts")) or 0)
