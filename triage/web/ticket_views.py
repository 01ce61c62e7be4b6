"""The JSON shapes of a ticket, one per audience: the submitter, a staff listing, staff in full."""

from __future__ import annotations

from typing import Any

from triage.service import status
from triage.service.repeats import cluster_view, repeat_of
from triage.service.tickets import is_overdue
from triage.storage.schema import Ticket

__all__ = ["full_view", "public_view", "summary_view"]


def public_view(ticket: Ticket, department_name: str) -> dict[str, Any]:
    """What the submitter sees: status and public replies, nothing they (or anyone) wrote."""
    return {
        "code": ticket.code,
        "status": ticket.status,
        "submitted_at": ticket.created_at.isoformat(),
        "due_at": ticket.due_at.isoformat(),
        "department": {"id": ticket.department, "name": department_name},
        "history": [
            {"status": e.type, "at": e.at.isoformat(), "public_reply": e.public_reply}
            for e in ticket.events
            if e.type in status.TRANSITIONS
        ],
    }


def summary_view(ticket: Ticket, cluster_sizes: dict[int, int] | None = None) -> dict[str, Any]:
    """A row of a staff listing: routing and state, text masked. ``cluster_sizes``: the
    page's repeat clusters counted at once (repeats.cluster_sizes). Every head's label is in
    ``labels``; each also sits at the top level as before (category, department, kind),
    unless its name is taken by a field of the row."""
    labels = dict(ticket.labels or {})
    row: dict[str, Any] = {
        "code": ticket.code,
        "created_at": ticket.created_at.isoformat(),
        "channel": ticket.channel,
        "status": ticket.status,
        "category": ticket.category,
        "department": ticket.department,
        "labels": labels,
        "needs_review": ticket.needs_review,
        "confidence": ticket.confidence,
        "due_at": ticket.due_at.isoformat(),
        "overdue": is_overdue(ticket),
        "excerpt": ticket.text_masked[:120],
        "cluster": cluster_view(ticket, cluster_sizes),
    }
    row.update({h: label for h, label in labels.items() if h not in row})
    return row


def full_view(ticket: Ticket) -> dict[str, Any]:
    """Everything, for staff roles allowed to see personal data."""
    return {
        **summary_view(ticket),
        "title": ticket.title,
        "text": ticket.text,
        "text_masked": ticket.text_masked,
        "contact": {
            "name": ticket.contact_name,
            "phone": ticket.contact_phone,
            "email": ticket.contact_email,
        },
        "prediction": ticket.prediction,
        "model_version": ticket.model_version,
        "closed_at": ticket.closed_at.isoformat() if ticket.closed_at else None,
        "repeat_of": repeat_of(ticket),
        "review_reason": ticket.review_reason,
        "reviewed_at": ticket.reviewed_at.isoformat() if ticket.reviewed_at else None,
        "corrections": [
            {
                "at": c.at.isoformat(),
                "by": c.actor,
                "model_version": c.model_version,
                "predicted": c.predicted,
                "verified": dict(c.labels or {}),
                "changed": [h for h in c.changed.split(",") if h],
                "note": c.note,
            }
            for c in ticket.corrections
        ],
        "returns": [
            {
                "at": r.at.isoformat(),
                "department": r.department,
                "reason": r.reason,
                "suggested_department": r.suggested_department,
                "routed_to": r.routed_to,
            }
            for r in ticket.returns
        ],
        "events": [
            {
                "type": e.type,
                "at": e.at.isoformat(),
                "actor": e.actor,
                "department": e.department,
                "note": e.note,
                "public_reply": e.public_reply,
            }
            for e in ticket.events
        ],
    }
