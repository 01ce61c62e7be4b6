"""A period's counts from the daily rollups (triage.storage.rollups): whole UTC days are
summed from the rollup table, the partial days at a period's edges are counted from the
tickets, so the answer is the same as a scan of every ticket in the period.

Time to close is exact too: the rollups hold how many tickets closed within each
time-to-close bucket (four per doubling), which says in which bucket the ranks a percentile
needs fall; only that bucket's tickets are then read (through an index on the seconds to
close) and ranked. Overdue depends on the clock, so it is counted over the open tickets.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, literal_column, select
from sqlalchemy.orm import Session

from triage.storage import rollups as stored
from triage.storage.rollups import DailyCount, add_tickets, bucket_bounds
from triage.storage.schema import Ticket

__all__ = ["Drifted", "Period", "add_tickets", "overdue", "period", "rebuild", "scope", "time_to_close"]


@dataclass
class Period:
    """Counts of a period: ``by[(dimension, value)]`` and the tickets per department."""

    by: Counter[tuple[str, str]] = field(default_factory=Counter)
    departments: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.departments.values())

    def values(self, dimension: str) -> Counter[str]:
        return Counter({v: n for (d, v), n in self.by.items() if d == dimension and n})

    def add(self, dimension: str, value: str, department: str, n: int) -> None:
        if dimension == "total":
            self.departments[department] += n
        else:
            self.by[(dimension, value)] += n


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def scope(
    start: datetime | None = None, end: datetime | None = None, department: str | None = None
) -> list[ColumnElement[bool]]:
    """Tickets created in [start, end), of one department if given."""
    conds: list[ColumnElement[bool]] = []
    if start is not None:
        conds.append(Ticket.created_at >= start)
    if end is not None:
        conds.append(Ticket.created_at < end)
    if department:
        conds.append(Ticket.department == department)
    return conds


def _split(
    start: datetime | None, end: datetime | None
) -> tuple[date | None, date | None, list[tuple[datetime | None, datetime | None]]]:
    """Whole UTC days [first, last) inside [start, end), and the partial spans left over."""
    first = last = None
    if start is not None:
        s = start.astimezone(UTC)
        first = s.date() if s == _midnight(s.date()) else s.date() + timedelta(days=1)
    if end is not None:
        last = end.astimezone(UTC).date()
    if first is not None and last is not None and first >= last:
        return None, None, [(start, end)]  # no whole day: count the tickets themselves
    edges: list[tuple[datetime | None, datetime | None]] = []
    if first is not None and start is not None and _midnight(first) > start:
        edges.append((start, _midnight(first)))
    if last is not None and end is not None and end > _midnight(last):
        edges.append((_midnight(last), end))
    return first, last, edges


def period(session: Session, start: datetime | None, end: datetime | None, department: str | None) -> Period:
    """The rollup counts of tickets created in [start, end), of one department if given."""
    out = Period()
    first, last, edges = _split(start, end)
    if first is not None or last is not None or start is None:
        conds: list[ColumnElement[bool]] = []
        if first is not None:
            conds.append(DailyCount.day >= first)
        if last is not None:
            conds.append(DailyCount.day < last)
        if department:
            conds.append(DailyCount.department == department)
        query = (
            select(DailyCount.dimension, DailyCount.value, DailyCount.department, func.sum(DailyCount.n))
            .where(*conds)
            .group_by(DailyCount.dimension, DailyCount.value, DailyCount.department)
        )
        for dimension, value, dept, n in session.execute(query):
            out.add(dimension, value, dept, int(n))
    for lo, hi in edges:
        for (_, dept, dimension, value), n in stored.count(session, scope(lo, hi, department)).items():
            out.add(dimension, value, dept, n)
    return out


def overdue(session: Session, conds: list[ColumnElement[bool]], now: datetime) -> int:
    """Open tickets in scope past their due time (the open tickets' partial index)."""
    is_open = literal_column("tickets.status") != literal_column("'closed'")
    query = select(func.count()).select_from(Ticket).where(*conds, is_open, Ticket.due_at < now)
    return int(session.scalar(query) or 0)


class Drifted(LookupError):
    """The tickets of a bucket do not match the rollup's count (the caller scans instead)."""


def _seconds_column(session: Session) -> Any:
    expression = stored.CLOSE_SECONDS.get(session.get_bind().dialect.name)
    if expression is None:
        raise Drifted("no index on the seconds to close for this database")
    return literal_column(expression)


def time_to_close(
    session: Session, conds: list[ColumnElement[bool]], histogram: Counter[str]
) -> dict[str, Any]:
    """Median and 90th percentile of hours to close (linear interpolation between closest
    ranks, as ``percentile_cont``), from the rollup's bucket counts and the tickets of the
    buckets the ranks fall in. Raises Drifted when those disagree."""
    counts = sorted((int(b), n) for b, n in histogram.items() if n)
    n = sum(c for _, c in counts)
    if not n:
        return {"n": 0, "median": None, "p90": None}
    seconds = _seconds_column(session)
    read: dict[tuple[int, int], float] = {}

    def at(rank: int) -> float:
        below = 0
        for b, c in counts:
            if rank < below + c:
                if (b, rank - below) not in read:  # this rank and the next, in one read
                    for i, v in enumerate(_ranked(session, conds, seconds, b, c, rank - below)):
                        read[(b, rank - below + i)] = v
                return read[(b, rank - below)] / 3600
            below += c
        raise Drifted("rank past the rollup's count")

    def percentile(q: float) -> float:
        pos = (n - 1) * q
        low = math.floor(pos)
        a, b = at(low), at(min(low + 1, n - 1))
        return a + (b - a) * (pos - low)

    return {"n": n, "median": round(percentile(0.5), 2), "p90": round(percentile(0.9), 2)}


def rebuild(session: Session) -> dict[str, int]:
    """Recount every rollup from the tickets, committed in one transaction (readers see the
    old counts until then)."""
    rows = stored.rebuild(session)
    session.commit()
    return {"tickets": stored.total_tickets(session), "rows": rows}


def _ranked(
    session: Session, conds: list[ColumnElement[bool]], seconds: Any, b: int, expected: int, offset: int
) -> list[float]:
    """The ``offset``-th smallest seconds to close in bucket ``b`` of the tickets in scope
    and the next one, read in order from the index on them; Drifted unless the bucket holds
    ``expected`` tickets."""
    low, high = bucket_bounds(b)
    where = [*conds, Ticket.closed_at.is_not(None)]
    if low is not None:
        where.append(seconds >= low)
    if high is not None:
        where.append(seconds < high)
    query = (
        select(seconds, func.count().over())
        .select_from(Ticket)
        .where(*where)
        .order_by(seconds)
        .offset(offset)
        .limit(2)
    )
    rows = session.execute(query).all()
    if not rows or int(rows[0][1]) != expected:
        found = int(rows[0][1]) if rows else "fewer"
        raise Drifted(f"bucket {b}: {found} tickets, the rollup says {expected}")
    return [float(v) for v, _ in rows]
