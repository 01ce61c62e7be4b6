"""Tickets: intake, status changes and the views of a ticket that each audience may see."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from triage.engine.text import prepare
from triage.service import status
from triage.service.codes import new_code
from triage.service.idempotency import earlier
from triage.service.repeats import RepeatPolicy, link
from triage.service.workdays import add_working_days
from triage.storage.schema import IdempotencyKey, Ticket, TicketEvent

if TYPE_CHECKING:
    from triage.settings import Settings

__all__ = [
    "add_event",
    "create_ticket",
    "get_by_code",
    "list_tickets",
]

CODE_ATTEMPTS = 5
HEADS = ("category", "department", "kind")


def time_limit(settings: Settings, taxonomy_limits: dict[str, int], category: str) -> int:
    """Working days to answer: the setting's override, else the taxonomy's, else the default."""
    return settings.time_limits.get(category, taxonomy_limits.get(category, settings.default_time_limit))


def review_fields(prediction: dict[str, Any], qc_share: float) -> dict[str, Any]:
    """Why (if at all) a new ticket goes to the review queue, and how uncertain it is."""
    heads = [h for h in HEADS if h in prediction]
    uncertain = [h for h in heads if prediction[h].get("needs_review")]

    def margin(h: str) -> float:
        alts = prediction[h].get("alternatives") or [{"confidence": 0.0}]
        return float(prediction[h]["confidence"]) - float(alts[0]["confidence"])

    watched = uncertain or heads
    reason = None
    if prediction.get("needs_review"):
        reason = "uncertain"
    elif secrets.randbelow(10_000) < qc_share * 10_000:
        reason = "quality_check"  # a random confident one, to measure live accuracy
    return {
        "review_reason": reason,
        "uncertain_heads": ",".join(uncertain),
        "margin": round(min(margin(h) for h in watched), 4) if watched else 1.0,
    }


def create_ticket(
    session: Session,
    *,
    text: str,
    title: str | None,
    channel: str,
    contact: dict[str, str | None],
    prediction: dict[str, Any],
    days: int,
    tz: str,
    qc_share: float = 0.0,
    repeats: RepeatPolicy | None = None,
    idempotency: IdempotencyKey | None = None,
    now: datetime | None = None,
) -> Ticket:
    """Store a ticket and its first event, committed before returning (a code collision
    retries with a new code). With ``repeats``, a near-duplicate of a recent open ticket is
    linked to it in the same transaction. With ``idempotency`` (idempotency.claim), the key
    is stored with the ticket; if a concurrent request with the same key won, its ticket is
    returned instead."""
    now = now or datetime.now(UTC)
    routing = {h: prediction[h]["label"] for h in HEADS}
    review = review_fields(prediction, qc_share)
    for _ in range(CODE_ATTEMPTS):
        ticket = Ticket(
            code=new_code(),
            created_at=now,
            updated_at=now,
            channel=channel,
            title=title,
            text=text,
            text_masked=prepare(text, title),
            contact_name=contact.get("name"),
            contact_phone=contact.get("phone"),
            contact_email=contact.get("email"),
            status=status.INITIAL,
            prediction=prediction,
            model_version=prediction.get("model_version"),
            needs_review=bool(prediction["needs_review"]),
            confidence=float(prediction["category"]["confidence"]),
            due_at=add_working_days(now, days, tz),
            **routing,
            **review,
        )
        ticket.events.append(
            TicketEvent(type=status.INITIAL, at=now, actor="intake", department=routing["department"])
        )
        session.add(ticket)
        try:
            if repeats is not None:
                link(session, ticket, repeats, now)
            if idempotency is not None:
                session.flush()
                idempotency.ticket_id = ticket.id
                session.add(idempotency)
            session.commit()
            return ticket
        except IntegrityError:
            session.rollback()  # the code was taken (try another), or the idempotency key
            if idempotency is not None:
                first = earlier(session, idempotency.caller, idempotency.key, idempotency.fingerprint, now)
                if first is not None:
                    return first
    raise RuntimeError("could not find a free query code")


def get_by_code(session: Session, code: str) -> Ticket | None:
    return session.scalar(select(Ticket).where(Ticket.code == code))


def add_event(
    session: Session,
    ticket: Ticket,
    type_: str,
    actor: str,
    note: str | None = None,
    public_reply: str | None = None,
    now: datetime | None = None,
) -> TicketEvent:
    now = now or datetime.now(UTC)
    status.move(ticket, type_, now)
    event = TicketEvent(
        type=type_,
        at=now,
        actor=actor,
        department=ticket.department,
        note=note,
        public_reply=public_reply,
    )
    ticket.events.append(event)
    session.commit()
    return event


def list_tickets(
    session: Session, filters: dict[str, Any], page: int, per_page: int, now: datetime | None = None
) -> tuple[list[Ticket], int]:
    now = now or datetime.now(UTC)
    query = select(Ticket)
    for column in ("status", "department", "category"):
        if filters.get(column):
            query = query.where(getattr(Ticket, column) == filters[column])
    if filters.get("since"):
        query = query.where(Ticket.created_at >= filters["since"])
    if filters.get("needs_review") is not None:
        query = query.where(Ticket.needs_review == filters["needs_review"])
    if filters.get("overdue") is True:
        query = query.where(Ticket.status != "closed", Ticket.due_at < now)
    elif filters.get("overdue") is False:
        query = query.where((Ticket.status == "closed") | (Ticket.due_at >= now))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Ticket.id.desc()).offset((page - 1) * per_page).limit(per_page))
    return list(rows), total


def is_overdue(ticket: Ticket, now: datetime | None = None) -> bool:
    return ticket.status != "closed" and ticket.due_at < (now or datetime.now(UTC))
