"""Figures over the tickets of a period: volumes, time to close, overdue, routing,
send-backs and live accuracy. Plain functions of a session returning dicts, for the API,
the dashboard and the report alike."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from triage.storage.schema import Correction, Return, Ticket

__all__ = ["BREAKDOWNS", "HEADS", "latest_corrections", "live_accuracy", "scope", "summary", "wilson"]

HEADS = ("category", "department", "kind")
BREAKDOWNS = ("category", "department", "kind", "channel", "status")
REVIEW_REASONS = ("uncertain", "quality_check", "returned", "returned_twice")


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


def _share(n: int, total: int) -> float | None:
    return round(n / total, 4) if total else None


def _count(session: Session, conds: list[ColumnElement[bool]]) -> int:
    return int(session.scalar(select(func.count(Ticket.id)).where(*conds)) or 0)


def counts(session: Session, conds: list[ColumnElement[bool]]) -> dict[str, dict[str, int]]:
    """Tickets per value of each breakdown column, largest first."""
    out: dict[str, dict[str, int]] = {}
    for name in BREAKDOWNS:
        column = getattr(Ticket, name)
        rows = session.execute(select(column, func.count()).where(*conds).group_by(column)).all()
        out[name] = {str(value): int(n) for value, n in sorted(rows, key=lambda r: (-r[1], str(r[0])))}
    return out


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def time_to_close(session: Session, conds: list[ColumnElement[bool]]) -> dict[str, Any]:
    """Hours from intake to closing, over the closed tickets."""
    rows = session.execute(
        select(Ticket.created_at, Ticket.closed_at).where(*conds, Ticket.closed_at.is_not(None))
    ).all()
    hours = [(closed - created).total_seconds() / 3600 for created, closed in rows if closed is not None]
    if not hours:
        return {"n": 0, "median": None, "p90": None}
    return {
        "n": len(hours),
        "median": round(percentile(hours, 0.5), 2),
        "p90": round(percentile(hours, 0.9), 2),
    }


def routing(session: Session, conds: list[ColumnElement[bool]], total: int) -> dict[str, Any]:
    """Routed by the model alone vs sent to a person because it was unsure, and why
    tickets are (or were) in the review queue."""
    unsure = _count(session, [*conds, Ticket.needs_review.is_(True)])
    reasons = dict(
        session.execute(
            select(Ticket.review_reason, func.count())
            .where(*conds, Ticket.review_reason.is_not(None))
            .group_by(Ticket.review_reason)
        ).all()
    )
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


def latest_corrections(session: Session, conds: list[ColumnElement[bool]]) -> list[dict[str, Any]]:
    """The latest verdict of each verified ticket in scope: the model's labels, the
    reviewer's, the heads changed and why the ticket was reviewed."""
    latest = select(func.max(Correction.id)).group_by(Correction.ticket_id)
    query = (
        select(Correction, Ticket.review_reason)
        .join(Ticket, Ticket.id == Correction.ticket_id)
        .where(Correction.id.in_(latest), *conds)
        .order_by(Correction.id)
    )
    return [
        {
            "predicted": c.predicted,
            "verified": {h: getattr(c, h) for h in HEADS},
            "changed": [h for h in c.changed.split(",") if h],
            "review_reason": reason,
        }
        for c, reason in session.execute(query)
    ]


def live_accuracy(verdicts: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per head, the share of verified tickets whose prediction the reviewer kept."""
    out: dict[str, dict[str, Any]] = {}
    n = len(verdicts)
    for head in HEADS:
        kept = sum(head not in v["changed"] for v in verdicts)
        low, high = wilson(kept, n) if n else (0.0, 0.0)
        out[head] = {
            "accuracy": round(kept / n, 4) if n else None,
            "n": n,
            "ci95": [round(low, 4), round(high, 4)] if n else None,
        }
    return out


def summary(
    session: Session,
    start: datetime | None = None,
    end: datetime | None = None,
    department: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Everything the summary endpoint and the dashboard show, for tickets created in
    [start, end) (of one department if given)."""
    now = now or datetime.now(UTC)
    conds = scope(start, end, department)
    total = _count(session, conds)
    overdue = _count(session, [*conds, Ticket.status != "closed", Ticket.due_at < now])
    verified = latest_corrections(session, conds)
    # Quality-control samples are drawn at random from confident tickets, so their accuracy
    # is the unbiased one for what is auto-routed; the uncertain ones drag the overall down.
    sampled = [v for v in verified if v["review_reason"] == "quality_check"]
    return {
        "period": {
            "from": start.isoformat() if start else None,
            "to": end.isoformat() if end else None,
            "department": department,
        },
        "total": total,
        "counts": counts(session, conds),
        "time_to_close_hours": time_to_close(session, conds),
        "overdue": {"n": overdue, "share": _share(overdue, total)},
        "routing": routing(session, conds, total),
        "returned": returned(session, conds, total),
        "live_accuracy": live_accuracy(verified),
        "live_accuracy_quality_check": live_accuracy(sampled),
    }
