"""People in the loop: the review queue, corrections (appended, never overwritten) and
departments' send-backs (退单)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session, selectinload

from triage.engine.heads import DEPARTMENT, role_columns
from triage.service import status
from triage.storage.schema import Correction, Return, Ticket, TicketEvent

__all__ = [
    "UnknownHead",
    "UnknownLabel",
    "add_correction",
    "queue",
    "return_ticket",
    "verified_labels",
]

# Returned twice first, then returned, then uncertain, then random quality-control samples.
_PRIORITY = {"returned_twice": 0, "returned": 1, "uncertain": 2, "quality_check": 3}


class UnknownLabel(ValueError):
    """A label the active model does not know, given without new_label."""

    def __init__(self, head: str, label: str) -> None:
        super().__init__(f"{label!r} is not a {head} the model knows; send new_label: true to add it.")
        self.head = head


class UnknownHead(ValueError):
    """Labels given for heads the active model does not have."""

    def __init__(self, heads: Sequence[str], known: Sequence[str]) -> None:
        names = ", ".join(heads)
        super().__init__(f"The active model has no head {names}; its heads are: {', '.join(known)}.")
        self.heads = list(heads)


def queue(
    session: Session,
    limit: int = 50,
    head: str | None = None,
    department: str | None = None,
) -> list[Ticket]:
    """Tickets awaiting a person, most in need first: send-backs, then the smallest margin.

    One query per reason, in priority order, each reading the queue's index on (reason,
    margin, id) only as far as it needs: ordering by the priority itself would fetch and
    sort every awaiting ticket (80,000 at ten million tickets)."""
    awaiting: list[ColumnElement[bool]] = [Ticket.review_reason.is_not(None), Ticket.reviewed_at.is_(None)]
    if department:
        awaiting.append(Ticket.department == department)
    if head:
        # This head is unsure, or the ticket is queued for reasons that concern every head.
        awaiting.append(
            Ticket.uncertain_heads.contains(head)
            | Ticket.review_reason.in_(("returned", "returned_twice", "quality_check"))
        )
    classes = [Ticket.review_reason == reason for reason in _PRIORITY]
    classes.append(Ticket.review_reason.not_in(list(_PRIORITY)))
    ids: list[int] = []
    for reason in classes:
        if len(ids) >= limit:
            break
        query = select(Ticket.id).where(*awaiting, reason).order_by(Ticket.margin, Ticket.id)
        ids.extend(session.scalars(query.limit(limit - len(ids))))
    # The page's send-backs in one query, not one per row (the queue shows how many).
    found = session.scalars(select(Ticket).where(Ticket.id.in_(ids)).options(selectinload(Ticket.returns)))
    by_id = {t.id: t for t in found}
    return [by_id[i] for i in ids if i in by_id]


def add_correction(
    session: Session,
    ticket: Ticket,
    actor: str,
    labels: Mapping[str, str | None],
    known: Mapping[str, Sequence[str]],
    note: str | None = None,
    new_label: bool = False,
    now: datetime | None = None,
) -> Correction:
    """Append a reviewer's verdict; the ticket's effective routing follows it.

    ``labels`` holds the heads the reviewer set (None or missing: keep the current one, so
    an empty correction is a confirmation). ``known`` is the active model's label sets: its
    keys are the heads a verdict covers; a label for any other head is an UnknownHead.
    """
    now = now or datetime.now(UTC)
    strange = [h for h, label in labels.items() if label and h not in known]
    if strange:
        raise UnknownHead(strange, list(known))
    for head, label in labels.items():
        if label and label not in known.get(head, ()) and not new_label:
            raise UnknownLabel(head, label)
    current = dict(ticket.labels or {})
    chosen = {h: labels.get(h) or current.get(h) or _model_label(ticket.prediction, h) for h in known}
    verified: dict[str, str] = {h: v for h, v in chosen.items() if v}
    predicted = {h: _model_label(ticket.prediction, h) for h in known}
    changed = [h for h in verified if verified[h] != predicted.get(h)]
    correction = Correction(
        at=now,
        actor=actor,
        model_version=ticket.model_version,
        predicted=predicted,
        changed=",".join(changed),
        new_label=new_label,
        note=note,
        labels=verified,
        **role_columns(verified),
    )
    ticket.corrections.append(correction)
    if DEPARTMENT in verified and verified[DEPARTMENT] != ticket.department:
        ticket.events.append(
            TicketEvent(type="rerouted", at=now, actor=actor, department=verified[DEPARTMENT], note=note)
        )
    ticket.labels = {**current, **verified}
    for role, label in role_columns(verified).items():
        if label is not None:
            setattr(ticket, role, label)
    ticket.reviewed_at = now
    ticket.updated_at = now
    session.commit()
    return correction


def _model_label(prediction: dict[str, Any], head: str) -> str | None:
    entry = prediction.get(head) or {}
    return entry.get("suggested") or entry.get("label")


def return_ticket(
    session: Session,
    ticket: Ticket,
    department: str,
    actor: str,
    reason: str,
    suggested: str | None,
    fallback: str | None,
    now: datetime | None = None,
) -> Return:
    """A department sends a ticket back. It goes to the suggested department, else the
    model's best department that has not returned it; after two send-backs, to the fallback
    department at the top of the review queue (without a fallback: the best remaining)."""
    now = now or datetime.now(UTC)
    status.send_back(ticket, now)
    refused = {r.department for r in ticket.returns} | {department}
    if len(refused) >= 2 and fallback:
        target, reason_code = fallback, "returned_twice"
    elif suggested and suggested not in refused:
        target, reason_code = suggested, "returned"
    else:
        target = _best_remaining(ticket.prediction, refused, fallback) or department
        reason_code = "returned_twice" if len(refused) >= 2 else "returned"
    record = Return(
        at=now,
        department=department,
        actor=actor,
        reason=reason,
        suggested_department=suggested,
        routed_to=target,
    )
    ticket.returns.append(record)
    ticket.events.append(
        TicketEvent(type="returned", at=now, actor=actor, department=department, note=reason)
    )
    ticket.events.append(TicketEvent(type="dispatched", at=now, actor="triage", department=target))
    ticket.department = target
    ticket.labels = {**(ticket.labels or {}), DEPARTMENT: target}
    ticket.review_reason = reason_code
    ticket.reviewed_at = None  # back in the queue even if someone had verified it
    session.commit()
    return record


def _best_remaining(prediction: dict[str, Any], refused: set[str], fallback: str | None) -> str | None:
    entry = prediction.get(DEPARTMENT) or {}
    ranking = [entry.get("suggested") or entry.get("label")]
    ranking += [a["label"] for a in entry.get("alternatives", [])]
    for label in ranking:
        if label and label not in refused and label != fallback:
            return str(label)
    return fallback


def verified_labels(session: Session) -> list[dict[str, Any]]:
    """The latest verdict per ticket, with its masked text, oldest first: what retraining
    learns from. Rows carry ``at`` so recent ones can be held out for the promotion gate."""
    latest: dict[int, Correction] = {}
    for c in session.scalars(select(Correction).order_by(Correction.id)):
        latest[c.ticket_id] = c
    tickets = (
        {t.id: t for t in session.scalars(select(Ticket).where(Ticket.id.in_(list(latest))))}
        if latest
        else {}
    )
    rows = [
        {
            "id": f"ticket:{tickets[tid].code}",
            "text": tickets[tid].text_masked,
            "title": "",
            "labels": dict(c.labels or {}),
            "at": c.at,
        }
        for tid, c in latest.items()
    ]
    return sorted(rows, key=lambda r: r["at"])
