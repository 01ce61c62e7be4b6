"""Tickets: intake, status changes and the views of a ticket that each audience may see."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from triage.engine.heads import CATEGORY, DEPARTMENT, role_columns
from triage.engine.text import prepare
from triage.service import status
from triage.service.codes import new_code
from triage.service.idempotency import earlier
from triage.service.repeats import RepeatPolicy, link
from triage.service.words import Words
from triage.service.workdays import add_working_days
from triage.storage.schema import IdempotencyKey, Ticket, TicketEvent, TicketWords

if TYPE_CHECKING:
    pass

__all__ = [
    "Page",
    "add_event",
    "conditions",
    "create_ticket",
    "get_by_code",
    "list_tickets",
]

CODE_ATTEMPTS = 5


def heads_of_prediction(prediction: dict[str, Any]) -> list[str]:
    """The heads a prediction object carries (its head entries are the dicts with a label)."""
    return [h for h, v in prediction.items() if isinstance(v, dict) and "label" in v]


def labels_of(prediction: dict[str, Any]) -> dict[str, str]:
    """head -> predicted label, for every head of the model that made ``prediction``."""
    return {h: str(prediction[h]["label"]) for h in heads_of_prediction(prediction)}


def review_fields(prediction: dict[str, Any], qc_share: float) -> dict[str, Any]:
    """Why (if at all) a new ticket goes to the review queue, and how uncertain it is."""
    heads = heads_of_prediction(prediction)
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
    words: Words | None = None,
    now: datetime | None = None,
) -> Ticket:
    """Store a ticket and its first event, committed before returning (a code collision
    retries with a new code). With ``repeats``, a near-duplicate of a recent open ticket is
    linked to it in the same transaction. With ``idempotency`` (idempotency.claim), the key
    is stored with the ticket; if a concurrent request with the same key won, its ticket is
    returned instead. With ``words``, the ticket's words are stored for hotspots."""
    now = now or datetime.now(UTC)
    labels = labels_of(prediction)
    # The confidence a ticket shows: its category's, else its model's first head's.
    lead: dict[str, Any] = prediction.get(CATEGORY) or next((prediction[h] for h in labels), {})
    review = review_fields(prediction, qc_share)
    masked = prepare(text, title)
    terms = words.stored(masked) if words is not None else None
    for _ in range(CODE_ATTEMPTS):
        ticket = Ticket(
            code=new_code(),
            created_at=now,
            updated_at=now,
            channel=channel,
            title=title,
            text=text,
            text_masked=masked,
            contact_name=contact.get("name"),
            contact_phone=contact.get("phone"),
            contact_email=contact.get("email"),
            status=status.INITIAL,
            prediction=prediction,
            model_version=prediction.get("model_version"),
            needs_review=bool(prediction["needs_review"]),
            confidence=float(lead.get("confidence", 0.0)),
            due_at=add_working_days(now, days, tz),
            labels=labels,
            **role_columns(labels),
            **review,
        )
        if terms is not None:
            ticket.words = TicketWords(words=terms)
        ticket.events.append(
            TicketEvent(type=status.INITIAL, at=now, actor="intake", department=labels.get(DEPARTMENT))
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


COUNT_EXACT = 10_000  # matches counted exactly; beyond, PostgreSQL's planner estimates


@dataclass(frozen=True)
class Page:
    """A page of the staff listing; ``after`` is the cursor of the next page (None: last);
    ``total`` is an estimate when ``exact`` is False."""

    rows: list[Ticket]
    total: int
    after: int | None
    exact: bool = True


def count_matching(session: Session, conds: list[ColumnElement[bool]]) -> tuple[int, bool]:
    """How many tickets match, and whether that is exact. Counting a million matches on
    every page view reads a million index entries; up to COUNT_EXACT the count is exact,
    beyond it PostgreSQL's planner estimate for the same query is given instead (SQLite,
    which keeps no estimates, counts them all)."""
    capped = select(Ticket.id).where(*conds).limit(COUNT_EXACT + 1).subquery()
    n = int(session.scalar(select(func.count()).select_from(capped)) or 0)
    if n <= COUNT_EXACT:
        return n, True
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return int(session.scalar(select(func.count(Ticket.id)).where(*conds)) or 0), True
    compiled = select(Ticket.id).where(*conds).compile(connection)
    plan: Any = connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {compiled}", compiled.params).scalar()
    return max(COUNT_EXACT + 1, int(plan[0]["Plan"]["Plan Rows"])), False


def conditions(filters: dict[str, Any], now: datetime) -> list[ColumnElement[bool]]:
    """The staff listing's filters as SQL (status, department, category, since, overdue,
    needs_review): the listing and the export select the same tickets."""
    conds: list[ColumnElement[bool]] = []
    for column in ("status", "department", "category"):
        if filters.get(column):
            conds.append(getattr(Ticket, column) == filters[column])
    if filters.get("since"):
        conds.append(Ticket.created_at >= filters["since"])
    if filters.get("needs_review") is not None:
        conds.append(Ticket.needs_review == filters["needs_review"])
    if filters.get("overdue") is True:
        conds += [Ticket.status != "closed", Ticket.due_at < now]
    elif filters.get("overdue") is False:
        conds.append((Ticket.status == "closed") | (Ticket.due_at >= now))
    return conds


def list_tickets(
    session: Session,
    filters: dict[str, Any],
    page: int,
    per_page: int,
    now: datetime | None = None,
    after: int | None = None,
) -> Page:
    """Newest first. ``after`` (a ticket id, the cursor of the previous page) reads the
    next page straight from the primary key, however deep; ``page`` skips ids first
    (reading only the primary key) and then loads the page's rows."""
    conds = conditions(filters, now or datetime.now(UTC))
    total, exact = count_matching(session, conds)
    ids = select(Ticket.id).where(*conds).order_by(Ticket.id.desc())
    ids = ids.where(Ticket.id < after) if after is not None else ids.offset((page - 1) * per_page)
    found = list(session.scalars(ids.limit(per_page + 1)))
    more = len(found) > per_page
    found = found[:per_page]
    rows: Iterable[Ticket] = (
        session.scalars(select(Ticket).where(Ticket.id.in_(found)).order_by(Ticket.id.desc()))
        if found
        else []
    )
    return Page(list(rows), total, found[-1] if more else None, exact)


def is_overdue(ticket: Ticket, now: datetime | None = None) -> bool:
    return ticket.status != "closed" and ticket.due_at < (now or datetime.now(UTC))
