"""The review loop over HTTP: the queue, corrections and send-backs."""

from __future__ import annotations

from typing import Any

from flask import g
from flask_openapi3 import APIBlueprint, Tag

from triage.engine.heads import DEPARTMENT, MissingRole
from triage.service import repeats, review, status
from triage.service.scoping import check_holds
from triage.web import ticket_views
from triage.web.access import access, actor
from triage.web.apidoc import errors, operation_id
from triage.web.lookups import find_ticket, known_labels
from triage.web.problems import ApiError
from triage.web.schemas import (
    CodePath,
    CorrectionIn,
    CorrectionOut,
    QueueQuery,
    ReturnIn,
    ReturnOut,
    ReviewQueue,
)
from triage.web.state import db_session, models

bp = APIBlueprint(
    "review",
    __name__,
    url_prefix="/v1",
    abp_tags=[Tag(name="review")],
    abp_security=[{"bearer": []}],
    operation_id_callback=operation_id,
)


def queue_item(ticket: Any, cluster_sizes: dict[int, int] | None = None) -> dict[str, Any]:
    return {
        **ticket_views.summary_view(ticket, cluster_sizes),
        "review_reason": ticket.review_reason,
        "quality_check": ticket.review_reason == "quality_check",
        "uncertain_heads": [h for h in ticket.uncertain_heads.split(",") if h],
        "margin": ticket.margin,
        "returns": len(ticket.returns),
    }


@bp.get("/review/queue", responses={200: ReviewQueue})
@access("reviewer")
def review_queue(query: QueueQuery) -> dict[str, Any]:
    """Tickets needing a person, most uncertain first, with quality-control samples marked."""
    heads = models().heads()
    if query.head and query.head not in heads:
        raise ApiError(
            400,
            f"The active model has no head {query.head!r}; its heads are: {', '.join(heads)}.",
            errors=[{"field": "head", "message": "not a head of the active model"}],
        )
    rows = review.queue(db_session(), query.limit, query.head, query.department)
    sizes = repeats.cluster_sizes(db_session(), rows)
    return {"items": [queue_item(t, sizes) for t in rows]}


@bp.post("/tickets/<code>/corrections", responses={201: CorrectionOut, **errors(404, 507)})
@access("reviewer")
def correct(path: CodePath, body: CorrectionIn) -> tuple[dict[str, Any], int]:
    """Record a verdict: changed labels, or none to confirm the prediction."""
    ticket = find_ticket(path.code)
    labels = {"category": body.category, "department": body.department, **(body.model_extra or {})}
    try:
        c = review.add_correction(
            db_session(), ticket, actor(), labels, known_labels(), body.note, body.new_label
        )
    except review.UnknownHead as exc:
        problem = [{"field": h, "message": "not a head of the active model"} for h in exc.heads]
        raise ApiError(400, str(exc), errors=problem) from exc
    except review.UnknownLabel as exc:
        problem = [{"field": exc.head, "message": "unknown label"}]
        raise ApiError(400, str(exc), errors=problem) from exc
    return {
        "code": ticket.code,
        "correction": {
            "at": c.at.isoformat(),
            "by": c.actor,
            "model_version": c.model_version,
            "predicted": c.predicted,
            "verified": dict(c.labels),
            "changed": [h for h in c.changed.split(",") if h],
            "note": c.note,
        },
        "routing": models().heads().routing(ticket.labels or {}),
    }, 201


@bp.post("/tickets/<code>/return", responses={201: ReturnOut, **errors(404, 409, 507)})
@access("department")
def send_back(path: CodePath, body: ReturnIn) -> tuple[dict[str, Any], int]:
    """The department holding a ticket sends it back as not theirs."""
    heads = models().heads()
    try:
        heads.require(DEPARTMENT, "Sending a ticket back")
    except MissingRole as exc:
        raise ApiError(409, str(exc)) from exc
    ticket = find_ticket(path.code)
    key = g.key
    check_holds(key, ticket.department)
    if ticket.department is None:
        raise ApiError(409, "This ticket has no department (its model had no department head).")
    if body.suggested_department and body.suggested_department not in heads.labels[DEPARTMENT]:
        raise ApiError(
            400,
            f"Unknown department {body.suggested_department!r}.",
            errors=[{"field": "suggested_department", "message": "unknown department"}],
        )
    try:
        record = review.return_ticket(
            db_session(),
            ticket,
            ticket.department,
            actor(),
            body.reason,
            body.suggested_department,
            heads.fallback_department,
        )
    except status.IllegalTransition as exc:
        raise ApiError(409, str(exc)) from exc
    return {
        "code": ticket.code,
        "returned_by": record.department,
        "routed_to": record.routed_to,
        "returns": len(ticket.returns),
        "review_reason": ticket.review_reason,
    }, 201
