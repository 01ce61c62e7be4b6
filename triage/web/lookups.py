"""What several views look up the same way: a ticket by its query code, the model's labels."""

from __future__ import annotations

from triage.service import tickets as svc
from triage.service.codes import InvalidCode, normalize_code
from triage.storage.schema import Ticket
from triage.web.problems import ApiError
from triage.web.state import db_session, models

__all__ = ["find_ticket", "known_labels"]


def find_ticket(code: str) -> Ticket:
    """The ticket with this query code; 400 for a malformed code, 404 for an unknown one."""
    try:
        canonical = normalize_code(code)
    except InvalidCode as exc:
        raise ApiError(
            400,
            f"That is not a valid query code: {exc}.",
            errors=[{"field": "code", "message": str(exc)}],
        ) from exc
    ticket = svc.get_by_code(db_session(), canonical)
    if ticket is None:
        raise ApiError(404, "No submission has this query code.")
    return ticket


def known_labels() -> dict[str, list[str]]:
    """Each head of the active model with its labels."""
    return models().heads().known()
