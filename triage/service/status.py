"""A ticket's status: the one table of moves, and the only code that sets ``ticket.status``.

Status moves ``received → dispatched → accepted → replied → closed``; closing is allowed from
any open state and ``replied`` may repeat. A department may send a ticket back (退单) until it
has replied, which dispatches it again.
"""

from __future__ import annotations

from datetime import datetime

from triage.storage.schema import Ticket

__all__ = ["INITIAL", "RETURNABLE", "TRANSITIONS", "IllegalTransition", "move", "send_back"]

# status -> event types allowed from it (the event type names the new status)
TRANSITIONS: dict[str, frozenset[str]] = {
    "received": frozenset({"dispatched", "closed"}),
    "dispatched": frozenset({"accepted", "closed"}),
    "accepted": frozenset({"replied", "closed"}),
    "replied": frozenset({"replied", "closed"}),
    "closed": frozenset(),
}
INITIAL = "received"
RETURNABLE = frozenset({"received", "dispatched", "accepted"})


class IllegalTransition(ValueError):
    """The move is not allowed from the ticket's status (HTTP 409)."""


def move(ticket: Ticket, type_: str, now: datetime) -> None:
    """Apply a status event to ``ticket`` (not committed)."""
    if type_ not in TRANSITIONS.get(ticket.status, frozenset()):
        allowed = ", ".join(sorted(TRANSITIONS.get(ticket.status, ()))) or "nothing (it is closed)"
        raise IllegalTransition(f"A {ticket.status} ticket cannot become {type_}; allowed: {allowed}.")
    ticket.status = type_
    ticket.updated_at = now
    if type_ == "closed":
        ticket.closed_at = now


def send_back(ticket: Ticket, now: datetime) -> None:
    """A send-back dispatches the ticket again (not committed)."""
    if ticket.status not in RETURNABLE:
        raise IllegalTransition(f"A {ticket.status} ticket cannot be sent back.")
    ticket.status = "dispatched"
    ticket.updated_at = now
