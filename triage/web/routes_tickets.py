"""Tickets: intake with a query code, the public lookup, and staff views and events."""

from __future__ import annotations

import itertools
import logging
import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, url_for
from flask_openapi3 import APIBlueprint, Tag

from triage.engine.heads import CATEGORY
from triage.service import exports, idempotency, repeats, status, workdays
from triage.service import tickets as svc
from triage.service.scoping import check_holds, department_filter
from triage.settings import Settings
from triage.storage.schema import Ticket
from triage.web import ticket_views
from triage.web.access import access, actor, public
from triage.web.apidoc import errors, operation_id
from triage.web.limits import lookup_limit
from triage.web.lookups import find_ticket
from triage.web.metrics import count_ticket, record_prediction
from triage.web.problems import ApiError
from triage.web.schemas import (
    CodePath,
    EventIn,
    ExportQuery,
    IntakeHeaders,
    PublicTicket,
    TicketCreated,
    TicketFull,
    TicketIn,
    TicketList,
    TicketQuery,
)
from triage.web.state import database, db_session, models, settings, tipbook, words
from triage.web.taxonomy import department_name

log = logging.getLogger(__name__)
bp = APIBlueprint(
    "tickets",
    __name__,
    url_prefix="/v1",
    abp_tags=[Tag(name="tickets")],
    operation_id_callback=operation_id,
)
STAFF = ("reviewer", "department")


@bp.post("/tickets", responses={201: TicketCreated, **errors(409, 507)}, security=[{"bearer": []}])
@access("intake", open_setting="open_intake")
def create_ticket(body: TicketIn, header: IntakeHeaders) -> tuple[dict[str, Any], int, dict[str, str]]:
    """Submit a message: it is routed, stored, and given a query code to follow it by. With an
    Idempotency-Key, sending the same request again within 24 hours returns the first ticket."""
    from flask import g

    conf = settings()
    session = db_session()
    claim = None
    key = (header.idempotency_key or "").strip()
    if key:
        caller = f"key:{g.key.id}" if g.get("key") is not None else "open"
        print_ = idempotency.fingerprint(body.model_dump())
        try:
            first = idempotency.earlier(session, caller, key, print_)
        except idempotency.KeyReused as exc:
            raise ApiError(409, str(exc)) from exc
        if first is not None:
            log.info("ticket %s sent again with its idempotency key", first.code)
            return _intake_answer(first, first.prediction, conf), 201, {"Idempotent-Replayed": "true"}
        claim = idempotency.claim(caller, key, print_)
    model, heads = models().both()
    prediction = model.route({"text": body.text, "title": body.title})
    category = (prediction.get(CATEGORY) or {}).get("label")
    contact = body.contact.model_dump() if body.contact else {}
    ticket = svc.create_ticket(
        session,
        text=body.text,
        title=body.title,
        channel=body.channel,
        contact=contact,
        prediction=prediction,
        days=heads.time_limit(category, conf.default_time_limit, conf.time_limits),
        tz=conf.timezone,
        qc_share=conf.review_random_share,
        repeats=repeats.RepeatPolicy.from_settings(conf),
        idempotency=claim,
        words=words(),
    )
    # Committed: from here on nothing may answer "not stored", or the client sends it again.
    log.info("ticket %s received: %s -> %s", ticket.code, category or "-", ticket.department or "-")
    record_prediction(prediction)
    count_ticket(ticket.channel)
    return _intake_answer(ticket, prediction, conf), 201, {}


def _intake_answer(ticket: Ticket, prediction: dict[str, Any], conf: Settings) -> dict[str, Any]:
    """The 201 body, from what is in memory; the tips are extras, and if they fail the
    answer goes without them rather than as an error about a ticket that is stored. A model
    without a category head gets tips ranked by the text alone."""
    category = (prediction.get(CATEGORY) or {}).get("label")
    try:
        today = workdays.today_local(conf.timezone)
        tips = [
            tip.as_json(department_name(tip.department), score)
            for tip, score in tipbook().best(category, ticket.text, today)
        ]
    except Exception:  # logged; the ticket is stored and its code must reach the submitter
        log.exception("ticket %s stored; its tips could not be made", ticket.code)
        tips = []
    return {
        "code": ticket.code,
        "status": ticket.status,
        "routing": prediction,
        "tips": tips,
        "due_at": ticket.due_at.isoformat(),
        "lookup_url": url_for("tickets.lookup_ticket", code=ticket.code, _external=False),
        **repeats.intake_fields(ticket),
    }


def local_time(value: datetime, tz: str, field: str) -> datetime:
    """A query time in UTC; one written without an offset (2026-11-01) is read in the
    service's time zone. A time UTC cannot hold (year 9999 west of Greenwich) is a 400."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(tz))
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ApiError(
            400, f"{field} is out of range.", errors=[{"field": field, "message": "out of range"}]
        ) from None


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


def cursor(text: str | None) -> int | None:
    """The id a ``next_cursor`` carries (TicketQuery leaves it to the route, see there)."""
    if text is None:
        return None
    if not re.fullmatch(r"[0-9]{1,18}", text):
        raise ApiError(
            400,
            "cursor is not a next_cursor this listing gave.",
            errors=[{"field": "cursor", "message": "not a cursor"}],
        )
    return int(text)


@bp.get("/tickets", security=[{"bearer": []}], responses={200: TicketList})
@access(*STAFF)
def list_tickets(query: TicketQuery) -> dict[str, Any]:
    """Staff listing with filters, newest first, paged: follow ``next_cursor`` (as
    ``cursor``) for the next page at any depth, or ask for a ``page`` number."""
    from flask import g, request

    filters = query.model_dump()
    filters["department"] = department_filter(g.key, query.department)
    if query.since is not None:
        filters["since"] = local_time(query.since, settings().timezone, "since")
    per_page = query.per_page or settings().page_size
    after = cursor(request.args.get("cursor"))
    found = svc.list_tickets(db_session(), filters, query.page, per_page, after=after)
    sizes = repeats.cluster_sizes(db_session(), found.rows)
    return {
        "items": [ticket_views.summary_view(t, sizes) for t in found.rows],
        "page": query.page,
        "per_page": per_page,
        "total": found.total,
        "total_exact": found.exact,
        "next_cursor": str(found.after) if found.after is not None else None,
    }


EXPORT_RESPONSE = {
    "description": "The tickets as a file, newest first, streamed (see the `format` parameter).",
    "content": {
        media.split(";")[0]: {"schema": {"type": "string", "format": "binary"}}
        for media in exports.FORMATS.values()
    },
    "headers": {"Content-Disposition": {"schema": {"type": "string"}, "description": "The file name."}},
}


@bp.get("/tickets/export", security=[{"bearer": []}], responses={200: EXPORT_RESPONSE})
@access(*STAFF)
def export_tickets(query: ExportQuery) -> Response:
    """The staff listing as a CSV (UTF-8 with a byte-order mark) or XLSX file, with the same
    filters; a department key gets its own department's tickets only. The file is streamed:
    any number of tickets. It carries the masked text (ID card and phone numbers replaced),
    not the original text or the contact, which stay behind ``/full``."""
    from flask import current_app, g

    conf = settings()
    filters = query.model_dump(exclude={"format"})
    filters["department"] = department_filter(g.key, query.department)
    if query.since is not None:
        filters["since"] = local_time(query.since, conf.timezone, "since")
    heads = models().heads()
    data = exports.export(
        database().session,
        filters,
        tz=conf.timezone,
        names=heads.name,
        extra_heads=heads.extras,
        beat=current_app.extensions.get("triage.heartbeat"),
    )
    chunks = exports.xlsx_chunks(data) if query.format == "xlsx" else exports.csv_chunks(data)
    # The first chunk is made here, inside the request: a database that fails answers with
    # a problem (503), not a cut-off file. Then the rest streams.
    first = next(chunks)
    stamp = datetime.now(ZoneInfo(conf.timezone)).strftime("%Y%m%d-%H%M")
    log.info("export of tickets as %s started", query.format)
    return Response(
        itertools.chain([first], chunks),
        content_type=exports.FORMATS[query.format],
        headers={"Content-Disposition": f'attachment; filename="tickets-{stamp}.{query.format}"'},
    )


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
