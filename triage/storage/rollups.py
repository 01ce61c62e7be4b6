"""Daily rollups: how many tickets created on each UTC day, per department, have each value
of each dimension (category, every other head, channel, status, review, send-back, verdict, time to
close bucket), kept current by the same transaction as the write that changes them.

A ticket counts once under every (dimension, value) pair of its *snapshot*
(:func:`keys`). Any ORM flush that adds, changes or deletes a ticket, or appends a
correction or a send-back to one, subtracts the ticket's old snapshot (read back from the
database, i.e. what the rollups last counted) and adds the new one, in ``before_flush``:
so a write and its rollup commit or roll back together and cannot drift. Bulk writes that
bypass the ORM call :func:`add_tickets`; :func:`rebuild` recounts everything from the
tickets (``triage stats rebuild-rollups``, and migration 0008).

Days are UTC days, so a change of the display time zone never invalidates them; a period
that starts or ends inside a day has its partial days counted from the tickets
(triage.service.rollups).
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Date,
    String,
    Text,
    event,
    exists,
    func,
    inspect,
    select,
)
from sqlalchemy.orm import Mapped, Session, aliased, mapped_column

from triage.storage.schema import Base, Correction, Return, Ticket, utcnow

__all__ = [
    "BUCKETS",
    "CLOSE_SECONDS",
    "EDGES",
    "DailyCount",
    "Snapshot",
    "add_tickets",
    "bucket",
    "bucket_bounds",
    "keys",
    "rebuild",
    "snapshots",
]

BUCKETS = 4  # time-to-close buckets per doubling: each bucket is at most 19% wide
# Seconds from intake to closing, written as the index on them (migration 0008) has it, so
# that a filter on this text reads the index; doubles, compared with the same doubles as
# Python compares (EDGES), so SQL and Python put a ticket in the same bucket.
CLOSE_SECONDS = {
    "postgresql": "(CAST(extract(epoch from closed_at - created_at) AS double precision))",
    "sqlite": "((julianday(closed_at) - julianday(created_at)) * 86400.0)",
}


class DailyCount(Base):
    """Tickets created on ``day`` (UTC) in ``department`` with ``value`` of ``dimension``."""

    __tablename__ = "daily_counts"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    department: Mapped[str] = mapped_column(String(64), primary_key=True)  # "" when none
    # Unbounded: a head's name and an extra head's label are the model's or the imported
    # file's, and a verdict names every head changed.
    dimension: Mapped[str] = mapped_column(Text, primary_key=True)
    value: Mapped[str] = mapped_column(Text, primary_key=True)  # "" when none
    n: Mapped[int] = mapped_column(BigInteger, default=0)


# Bucket b > 0 holds [EDGES[b - 1], EDGES[b]) seconds; the same floats bound it in SQL.
EDGES = tuple(60 * 2 ** (i / BUCKETS) for i in range(200))


def bucket(seconds: float) -> int:
    """Time-to-close bucket: 0 under a minute, then BUCKETS per doubling of the minutes."""
    return bisect.bisect_right(EDGES, seconds)


def bucket_bounds(b: int) -> tuple[float | None, float | None]:
    """Seconds [low, high) of bucket ``b`` (None: unbounded)."""
    return (EDGES[b - 1] if b > 0 else None), (EDGES[b] if b < len(EDGES) else None)


@dataclass(frozen=True)
class Snapshot:
    """What the rollups count of one ticket."""

    created_at: datetime
    department: str | None
    category: str | None
    heads: tuple[tuple[str, str], ...]  # (head, label) of the heads besides the two roles
    channel: str | None
    status: str | None
    needs_review: bool
    review_reason: str | None
    closed_at: datetime | None
    returned: bool  # sent back at least once
    verdict: str | None  # ``changed`` of the latest correction; None: never verified


HEADS_FIELD = "labels"  # the ticket's column other_heads reads: every head's label
# triage.engine.heads.ROLES (storage does not import the engine): counted as their own dimensions
ROLES = ("department", "category")


def other_heads(value: Any) -> tuple[tuple[str, str], ...]:
    """(head, label) of the heads other than the roles category and department (their own
    dimensions: the category column and the department key), from a ticket's ``labels``;
    each is a dimension of the rollups under its own name. A head without a label is left
    out: the summary counts the rest of the total as its "None"."""
    if not isinstance(value, Mapping):
        return ()
    return tuple(sorted((h, str(v)) for h, v in value.items() if h not in ROLES and v is not None))


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def keys(s: Snapshot) -> list[tuple[date, str, str, str]]:
    """(day, department, dimension, value) of every count the ticket is in."""
    created = _utc(s.created_at)
    pairs = [
        ("total", ""),
        ("category", s.category),
        *s.heads,
        ("channel", s.channel),
        ("status", s.status),
    ]
    if s.needs_review:
        pairs.append(("needs_review", "1"))
    if s.review_reason is not None:
        pairs.append(("review_reason", s.review_reason))
    if s.returned:
        pairs.append(("returned", "1"))
    if s.verdict is not None:
        pairs.append(("verdict", s.verdict))
        if s.review_reason == "quality_check":
            pairs.append(("verdict_qc", s.verdict))
    if s.closed_at is not None:
        pairs.append(("close", str(bucket((_utc(s.closed_at) - created).total_seconds()))))
    day, dept = created.date(), s.department or ""
    return [(day, dept, dim, "" if value is None else str(value)) for dim, value in pairs]


def _apply(session_or_conn: Session | Connection, delta: Counter[tuple[date, str, str, str]]) -> None:
    """Add ``delta`` to the stored counts (an upsert per key, in key order so concurrent
    writers take row locks in the same order)."""
    rows = [
        {"day": k[0], "department": k[1], "dimension": k[2], "value": k[3], "n": n}
        for k, n in sorted(delta.items())
        if n
    ]
    if not rows:
        return
    # On the session's connection: the ORM's bulk path adds nothing to a plain upsert but
    # its bookkeeping (a fifth of intake's Python time went there).
    conn = session_or_conn.connection() if isinstance(session_or_conn, Session) else session_or_conn
    conn.execute(_upsert(conn.dialect.name), rows)


@lru_cache(maxsize=4)
def _upsert(dialect: str) -> Any:
    """The rollup upsert, built once per dialect."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert  # type: ignore[assignment]
    stmt = upsert(DailyCount)
    return stmt.on_conflict_do_update(
        index_elements=["day", "department", "dimension", "value"],
        set_={"n": DailyCount.n + stmt.excluded.n},
    )


# -- kept current by the ORM -------------------------------------------------------------


def _latest() -> ColumnElement[bool]:
    newer = aliased(Correction)
    return ~exists().where(newer.ticket_id == Correction.ticket_id, newer.id > Correction.id)


def _stored(session: Session, ticket_id: int) -> Snapshot | None:
    """The ticket as the database (and so the rollups) has it now."""
    row = session.execute(select(*_COLUMNS).where(Ticket.id == ticket_id)).one_or_none()
    if row is None:
        return None
    returned = session.scalar(select(exists().where(Return.ticket_id == ticket_id)))
    verdict = session.scalar(
        select(Correction.changed)
        .where(Correction.ticket_id == ticket_id)
        .order_by(Correction.id.desc())
        .limit(1)
    )
    return _snapshot(dict(zip(_FIELDS, row, strict=True)), bool(returned), verdict)


def _current(ticket: Ticket, before: Snapshot | None, returns: int, verdict: str | None) -> Snapshot:
    if ticket.created_at is None:
        ticket.created_at = utcnow()  # the column default, set now so the day is known
    return Snapshot(
        created_at=ticket.created_at,
        department=ticket.department,
        category=ticket.category,
        heads=other_heads(getattr(ticket, HEADS_FIELD)),
        channel=ticket.channel,
        status=ticket.status,
        needs_review=bool(ticket.needs_review),
        review_reason=ticket.review_reason,
        closed_at=ticket.closed_at,
        returned=bool(returns) or (before is not None and before.returned),
        verdict=verdict if verdict is not None else (before.verdict if before else None),
    )


def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    with session.no_autoflush:
        _apply(session, _changes(session))


def _changes(session: Session) -> Counter[tuple[date, str, str, str]]:
    """What this flush changes in the rollups: old snapshots out, new ones in."""
    new_returns: Counter[int] = Counter()
    new_verdicts: dict[int, str] = {}
    touched: dict[int, Ticket] = {}
    # In the order they will be inserted: the last correction of a ticket is its latest.
    for obj in sorted(session.new, key=lambda o: inspect(o).insert_order or 0):
        if isinstance(obj, Correction | Return):
            ticket: Ticket | None = obj.ticket  # None until loaded when only ticket_id is set
            if ticket is None:
                ticket = session.get(Ticket, obj.ticket_id)
            if ticket is None:
                continue
            touched[id(ticket)] = ticket
            if isinstance(obj, Return):
                new_returns[id(ticket)] += 1
            else:
                new_verdicts[id(ticket)] = obj.changed or ""
    for obj in (*session.new, *session.dirty):
        if isinstance(obj, Ticket):
            touched[id(obj)] = obj
    delta: Counter[tuple[date, str, str, str]] = Counter()
    for key, ticket in touched.items():
        if ticket in session.deleted:
            continue
        tid: int | None = ticket.id  # None before its first flush
        before = _stored(session, tid) if tid is not None and ticket not in session.new else None
        after = _current(ticket, before, new_returns[key], new_verdicts.get(key))
        if before == after:
            continue
        if before is not None:
            delta.subtract(keys(before))
        delta.update(keys(after))
    for obj in session.deleted:
        if isinstance(obj, Ticket) and obj.id is not None:
            gone = _stored(session, obj.id)
            if gone is not None:
                delta.subtract(keys(gone))
    return delta


event.listen(Session, "before_flush", _before_flush)


# -- bulk writes and rebuilding ------------------------------------------------------------

_COLUMNS = (
    Ticket.created_at,
    Ticket.department,
    Ticket.category,
    getattr(Ticket, HEADS_FIELD),
    Ticket.channel,
    Ticket.status,
    Ticket.needs_review,
    Ticket.review_reason,
    Ticket.closed_at,
)
_FIELDS = tuple(c.key for c in _COLUMNS)


def _snapshot(row: Mapping[str, Any], returned: bool, verdict: str | None) -> Snapshot:
    values = {k: v for k, v in row.items() if k not in (HEADS_FIELD, "needs_review")}
    return Snapshot(
        **values,
        needs_review=bool(row.get("needs_review")),
        heads=other_heads(row.get(HEADS_FIELD)),
        returned=returned,
        verdict=verdict,
    )


def add_tickets(session: Session | Connection, rows: Iterable[Mapping[str, Any]]) -> int:
    """Count tickets written without the ORM (bulk imports, COPY): each row a mapping of the
    ticket's columns (``created_at``, ``department``, ``category``, ``labels``, ``channel``,
    ``status``, ``needs_review``, ``review_reason``, ``closed_at``), optionally
    ``returned`` (sent back at least once) and ``verdict`` (the latest correction's
    ``changed``). Call it in the transaction that inserts them. Returns how many."""
    delta: Counter[tuple[date, str, str, str]] = Counter()
    n = 0
    for row in rows:
        snap = _snapshot(
            {f: row.get(f) for f in _FIELDS}, bool(row.get("returned", False)), row.get("verdict")
        )
        delta.update(keys(snap))
        n += 1
    _apply(session, delta)
    return n


def snapshots(conn: Session | Connection, conds: list[ColumnElement[bool]]) -> Iterator[Snapshot]:
    """The snapshot of every ticket matching ``conds``, read from the tickets themselves."""
    returned = set(
        conn.scalars(
            select(Return.ticket_id).join(Ticket, Ticket.id == Return.ticket_id).where(*conds).distinct()
        )
    )
    verdicts: dict[int, str] = {
        tid: changed
        for tid, changed in conn.execute(
            select(Correction.ticket_id, Correction.changed)
            .join(Ticket, Ticket.id == Correction.ticket_id)
            .where(_latest(), *conds)
        )
    }
    result = conn.execute(select(Ticket.id, *_COLUMNS).where(*conds).execution_options(yield_per=20_000))
    for tid, *values in result:
        yield _snapshot(dict(zip(_FIELDS, values, strict=True)), tid in returned, verdicts.get(tid))


def count(
    conn: Session | Connection, conds: list[ColumnElement[bool]]
) -> Counter[tuple[date, str, str, str]]:
    """What the rollups hold for the tickets matching ``conds``, counted afresh."""
    out: Counter[tuple[date, str, str, str]] = Counter()
    for snap in snapshots(conn, conds):
        out.update(keys(snap))
    return out


def rebuild(conn: Session | Connection) -> int:
    """Recount every rollup from the tickets, in the database (not committed); returns the
    rows written."""
    from triage.storage.recount import recount

    return recount(conn, EDGES, ROLES)


def stored(conn: Session | Connection) -> Counter[tuple[date, str, str, str]]:
    """The rollups as stored (zero counts left out)."""
    rows = conn.execute(
        select(DailyCount.day, DailyCount.department, DailyCount.dimension, DailyCount.value, DailyCount.n)
    )
    return Counter({(d, dept, dim, v): int(n) for d, dept, dim, v, n in rows if n})


def total_tickets(conn: Session | Connection) -> int:
    return int(conn.scalar(select(func.count(Ticket.id))) or 0)
