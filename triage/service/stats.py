"""Figures over the tickets of a period: volumes, time to close, overdue, routing,
send-backs and live accuracy. Plain functions of a session returning dicts, for the API,
the dashboard and the report alike."""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, and_, case, exists, func, select
from sqlalchemy.orm import Session, aliased

from triage.engine.heads import CATEGORY, DEPARTMENT, ROLES
from triage.service import rollups
from triage.service.rollups import scope
from triage.storage.schema import Correction, Return, Ticket

__all__ = [
    "breakdowns",
    "head_column",
    "latest_corrections",
    "live_accuracy",
    "scope",
    "summary",
    "wilson",
]

FIELDS = ("channel", "status")  # broken down besides the heads
REVIEW_REASONS = ("uncertain", "quality_check", "returned", "returned_twice")

log = logging.getLogger(__name__)


def _share(n: int, total: int) -> float | None:
    return round(n / total, 4) if total else None


def _count(session: Session, conds: list[ColumnElement[bool]]) -> int:
    return int(session.scalar(select(func.count(Ticket.id)).where(*conds)) or 0)


def _by(rows: list[tuple[Any, ...]], position: int) -> dict[str, int]:
    """Counts per value of one column of grouped rows (count last), largest first."""
    totals: dict[str, int] = {}
    for row in rows:
        key = str(row[position])
        totals[key] = totals.get(key, 0) + int(row[-1])
    return dict(sorted(totals.items(), key=lambda kv: (-kv[1], kv[0])))


def breakdowns(heads: Sequence[str]) -> tuple[str, ...]:
    """What the summary counts tickets by: each head of the model, then channel and status."""
    return (*heads, *FIELDS)


def head_column(head: str) -> ColumnElement[Any]:
    """A head's label in SQL: its own indexed column for a role head, else from ``labels``."""
    if head in ROLES:
        return cast("ColumnElement[Any]", Ticket.category if head == CATEGORY else Ticket.department)
    return cast("ColumnElement[Any]", Ticket.labels[head].as_string())


def grouped(
    session: Session, conds: list[ColumnElement[bool]], now: datetime, heads: Sequence[str]
) -> list[tuple[Any, ...]]:
    """One scan of the tickets in scope: how many per combination of the breakdown columns
    (``breakdowns(heads)``), needs_review, review_reason and overdue (the last column is the
    count). Every count of the summary is a sum over these rows, so a million tickets are read
    once, not nine times."""
    overdue = case((and_(Ticket.status != "closed", Ticket.due_at < now), 1), else_=0)
    columns = [
        *(head_column(h) for h in heads),
        *(getattr(Ticket, name) for name in FIELDS),
        Ticket.needs_review,
        Ticket.review_reason,
        overdue,
    ]
    query = select(*columns, func.count()).where(*conds).group_by(*columns)
    return [tuple(row) for row in session.execute(query)]


def counts(
    session: Session, conds: list[ColumnElement[bool]], heads: Sequence[str], now: datetime | None = None
) -> dict[str, dict[str, int]]:
    """Tickets per value of each breakdown column, largest first."""
    rows = grouped(session, conds, now or datetime.now(UTC), heads)
    return {name: _by(rows, i) for i, name in enumerate(breakdowns(heads))}


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def time_to_close(session: Session, conds: list[ColumnElement[bool]]) -> dict[str, Any]:
    """Hours from intake to closing, over the closed tickets: percentile_cont in
    PostgreSQL (the same interpolation as ``percentile``); elsewhere the hours alone are
    fetched and ranked here."""
    closed = [*conds, Ticket.closed_at.is_not(None)]
    if session.get_bind().dialect.name == "postgresql":
        hours = func.extract("epoch", Ticket.closed_at - Ticket.created_at) / 3600
        n, median, p90 = session.execute(
            select(
                func.count(),
                func.percentile_cont(0.5).within_group(hours),
                func.percentile_cont(0.9).within_group(hours),
            ).where(*closed)
        ).one()
        if not n:
            return {"n": 0, "median": None, "p90": None}
        return {"n": int(n), "median": round(float(median), 2), "p90": round(float(p90), 2)}
    days = func.julianday(Ticket.closed_at) - func.julianday(Ticket.created_at)
    values = [float(v) * 24 for v in session.scalars(select(days).where(*closed))]
    if not values:
        return {"n": 0, "median": None, "p90": None}
    return {
        "n": len(values),
        "median": round(percentile(values, 0.5), 2),
        "p90": round(percentile(values, 0.9), 2),
    }


def routing(rows: list[tuple[Any, ...]], total: int) -> dict[str, Any]:
    """Routed by the model alone vs sent to a person because it was unsure, and why
    tickets are (or were) in the review queue (from ``grouped`` rows)."""
    at = len(rows[0]) - 4 if rows else 0  # needs_review, review_reason, overdue, count last
    unsure = sum(int(r[-1]) for r in rows if r[at])
    reasons: dict[str, int] = {}
    for row in rows:
        if row[at + 1] is not None:
            reasons[row[at + 1]] = reasons.get(row[at + 1], 0) + int(row[-1])
    return {
        "auto_routed": {"n": total - unsure, "share": _share(total - unsure, total)},
        "sent_to_review": {"n": unsure, "share": _share(unsure, total)},
        "review_reasons": {r: int(reasons.pop(r, 0)) for r in REVIEW_REASONS} | reasons,
    }


def returned(session: Session, conds: list[ColumnElement[bool]], total: int) -> dict[str, Any]:
    """Tickets a department sent back at least once."""
    sent_back = select(Return.ticket_id).distinct()
    n = _count(session, [*conds, Ticket.id.in_(sent_back)])
    return {"n": n, "share": _share(n, total)}


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a proportion k/n (honest for small n and k near n)."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _latest() -> ColumnElement[bool]:
    """A ticket's latest verdict: no later one exists (an anti-join on the ticket's
    corrections, cheaper than grouping every correction ever made)."""
    newer = aliased(Correction)
    return ~exists().where(newer.ticket_id == Correction.ticket_id, newer.id > Correction.id)


def latest_corrections(session: Session, conds: list[ColumnElement[bool]]) -> list[dict[str, Any]]:
    """The latest verdict of each verified ticket in scope: the model's labels, the
    reviewer's, the heads changed and why the ticket was reviewed."""
    query = (
        select(Correction, Ticket.review_reason)
        .join(Ticket, Ticket.id == Correction.ticket_id)
        .where(_latest(), *conds)
        .order_by(Correction.id)
    )
    return [
        {
            "predicted": c.predicted,
            "verified": dict(c.labels or {}),
            "changed": [h for h in c.changed.split(",") if h],
            "review_reason": reason,
        }
        for c, reason in session.execute(query)
    ]


def changed_counts(session: Session, conds: list[ColumnElement[bool]]) -> dict[str, Counter[str]]:
    """How many latest verdicts in scope changed each set of heads (``changed`` as stored),
    over all of them ("all") and over the quality-control samples ("quality_check"):
    the counts live accuracy needs, without reading every verdict."""
    sampled = Ticket.review_reason == "quality_check"
    query = (
        select(sampled, Correction.changed, func.count())
        .join(Ticket, Ticket.id == Correction.ticket_id)
        .where(_latest(), *conds)
        .group_by(sampled, Correction.changed)
    )
    out: dict[str, Counter[str]] = {"all": Counter(), "quality_check": Counter()}
    for is_sample, changed, n in session.execute(query):
        out["all"][changed] += int(n)
        if is_sample:
            out["quality_check"][changed] += int(n)
    return out


def accuracy(changed: Counter[str], heads: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Per head, the share of verdicts that kept the prediction, from how many verdicts
    changed each set of heads (comma-separated, as stored)."""
    out: dict[str, dict[str, Any]] = {}
    n = sum(changed.values())
    for head in heads:
        kept = sum(k for heads, k in changed.items() if head not in heads.split(","))
        low, high = wilson(kept, n) if n else (0.0, 0.0)
        out[head] = {
            "accuracy": round(kept / n, 4) if n else None,
            "n": n,
            "ci95": [round(low, 4), round(high, 4)] if n else None,
        }
    return out


def live_accuracy(verdicts: list[dict[str, Any]], heads: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Per head, the share of verified tickets whose prediction the reviewer kept."""
    return accuracy(Counter(",".join(v["changed"]) for v in verdicts), heads)


def _largest_first(counts: Counter[str]) -> dict[str, int]:
    return dict(sorted(((k, int(v)) for k, v in counts.items() if v), key=lambda kv: (-kv[1], kv[0])))


def _breakdown(figures: rollups.Period, name: str, total: int) -> dict[str, int]:
    """Tickets per value of one breakdown, from the rollups, as the scan (``counts``) has it:
    no value is "None". The department is the rollups' own key; an extra head's dimension is
    its name, holding only the tickets labelled for it, so the rest of the total is "None"."""
    found = figures.departments if name == DEPARTMENT else figures.values(name)
    out = Counter({("None" if v == "" else v): int(n) for v, n in found.items()})
    if name not in ROLES and name not in FIELDS:
        out["None"] += total - sum(found.values())
    return _largest_first(out)


def summary(
    session: Session,
    start: datetime | None = None,
    end: datetime | None = None,
    department: str | None = None,
    now: datetime | None = None,
    *,
    heads: Sequence[str],
) -> dict[str, Any]:
    """Everything the summary endpoint and the dashboard show, for tickets created in
    [start, end) (of one department if given), broken down by ``heads`` (the active model's:
    triage.engine.heads): counts from the daily rollups (exact, see triage.service.rollups),
    overdue from the open tickets."""
    now = now or datetime.now(UTC)
    conds = scope(start, end, department)
    figures = rollups.period(session, start, end, department)
    total = figures.total
    overdue = rollups.overdue(session, conds, now)
    try:
        to_close = rollups.time_to_close(session, conds, figures.values("close"))
    except rollups.Drifted as drift:
        # The rollups disagree with the tickets (written behind the service's back?): the
        # scan is exact, only slower; `triage stats rebuild-rollups` puts them right.
        log.warning("Time to close from a scan: %s.", drift)
        to_close = time_to_close(session, conds)
    unsure = figures.values("needs_review")["1"]
    reasons = figures.values("review_reason")
    n_returned = figures.values("returned")["1"]
    # Quality-control samples are drawn at random from confident tickets, so their accuracy
    # is the unbiased one for what is auto-routed; the uncertain ones drag the overall down.
    return {
        "period": {
            "from": start.isoformat() if start else None,
            "to": end.isoformat() if end else None,
            "department": department,
        },
        "total": total,
        "counts": {name: _breakdown(figures, name, total) for name in breakdowns(heads)},
        "time_to_close_hours": to_close,
        "overdue": {"n": overdue, "share": _share(overdue, total)},
        "routing": {
            "auto_routed": {"n": total - unsure, "share": _share(total - unsure, total)},
            "sent_to_review": {"n": unsure, "share": _share(unsure, total)},
            "review_reasons": {r: int(reasons.pop(r, 0)) for r in REVIEW_REASONS} | _largest_first(reasons),
        },
        "returned": {"n": n_returned, "share": _share(n_returned, total)},
        "live_accuracy": accuracy(figures.values("verdict"), heads),
        "live_accuracy_quality_check": accuracy(figures.values("verdict_qc"), heads),
    }
