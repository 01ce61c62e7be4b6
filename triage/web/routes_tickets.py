"""Tickets: intake with a query code, the public lookup, and staff views and events."""

from __future__ import annotations

import logging
from typing import Any

from flask import url_for
from flask_openapi3 import APIBlueprint, Tag

from triage.service import repeats, status, workdays
from triage.service import tickets as svc
from triage.service.scoping import check_holds, department_filter
from triage.storage.schema import Ticket
from triage.web import ticket_views
from triage.web.access import access, actor, public
from triage.web.apidoc import errors, operation_id
from triage.web.limits import lookup_limit
from triage.web.lookups import find_ticket
from triage.web.problems import ApiError
from triage.web.schemas import (
    CodePath,
    EventIn,
    PublicTicket,
    TicketCreated,
    TicketFull,
    TicketIn,
    TicketList,
    TicketQuery,
)
from triage.web.state import db_session, models, settings, tipbook
from triage.web.taxonomy import department_name, time_limits

log = logging.getLogger(__name__)
bp = APIBlueprint(
    "tickets",
    __name__,
    url_prefix="/v1",
    abp_tags=[Tag(name="tickets")],
    operation_id_callback=operation_id,
)
STAFF = ("reviewer", "department")


@bp.post("/tickets", responses={201: TicketCreated, **errors(507)}, security=[{"bearer": []}])
@access("intake", open_setting="open_intake")
def create_ticket(body: TicketIn) -> tuple[dict[str, Any], int]:
    """Submit a message: it is routed, stored, and given a query code to follow it by."""
    conf = settings()
    prediction = models().get().route({"text": body.text, "title": body.title})
    category = prediction["category"]["label"]
    contact = body.contact.model_dump() if body.contact else {}
    ticket = svc.create_ticket(
        db_session(),
        text=body.text,
        title=body.title,
        channel=body.channel,
        contact=contact,
        prediction=prediction,
        days=svc.time_limit(conf, time_limits(), category),
        tz=conf.timezone,
        qc_share=conf.review_random_share,
        repeats=repeats.RepeatPolicy.from_settings(conf),
    )
    log.info("ticket %s received: %s -> %s", ticket.code, category, ticket.department)
    today = workdays.today_local(conf.timezone)
    tips = [
        tip.as_json(department_name(tip.department), score)
        for tip, score in tipbook().best(category, body.text, today)
    ]
    return {
        "code": ticket.code,
        "status": ticket.status,
        "routing": prediction,
        "tips": tips,
        "due_at": ticket.due_at.isoformat(),
        "lookup_url": url_for("tickets.lookup_ticket", code=ticket.code, _external=False),
        **repeats.intake_fields(db_session(), ticket),
    }, 201


@bp.get("/tickets/<code>", responses={200: PublicTicket, **errors(404, 429)})
@public
@lookup_limit
def lookup_ticket(path: CodePath) -> dict[str, Any]:
    """Follow a submission by its query code: status and public replies, nothing personal."""
    ticket = find_ticket(path.code)
    return ticket_views.public_view(ticket, department_name(ticket.department))


def _visible(ticket: Ticket) -> Ticket:
    from flask import g

    check_holds(g.key, ticket.department)
    return ticket


@bp.get("/tickets", security=[{"bearer": []}], responses={200: TicketList})
@access(*STAFF)
def list_tickets(query: TicketQuery) -> dict[str, Any]:
    """Staff listing with filters, newest first, paged."""
    from flask import g

    filters = query.model_dump()
    filters["department"] = department_filter(g.key, query.department)
    per_page = query.per_page or settings().page_size
    rows, total = svc.list_tickets(db_session(), filters, query.page, per_page)
    return {
        "items": [ticket_views.summary_view(t) for t in rows],
        "page": query.page,
        "per_page": per_page,
        "total": total,
    }


@bp.get("/tickets/<code>/full", security=[{"bearer": []}], responses={200: TicketFull, **errors(404)})
@access(*STAFF)
def full_ticket(path: CodePath) -> dict[str, Any]:
    """Everything about a ticket, including the original text and contact."""
    return ticket_views.full_view(_visible(find_ticket(path.code)))


@bp.post(
    "/tickets/<code>/events",
    security=[{"bearer": []}],
    responses={201: TicketFull, **errors(404, 409, 507)},
)
@access(*STAFF)
def add_event(path: CodePath, body: EventIn) -> tuple[dict[str, Any], int]:
    """Move a ticket on: dispatched, accepted, replied (with a public reply) or closed."""
    ticket = _visible(find_ticket(path.code))
    if body.type == "replied" and not (body.public_reply or "").strip():
        raise ApiError(
            400,
            "A reply needs public_reply: the text the submitter will see.",
            errors=[{"field": "public_reply", "message": "required for replied"}],
        )
    try:
        svc.add_event(db_session(), ticket, body.type, actor(), body.note, body.public_reply)
    except status.IllegalTransition as exc:
        raise ApiError(409, str(exc)) from exc
    return ticket_views.full_view(ticket), 201
