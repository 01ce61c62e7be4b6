"""Who may see and act on which department's tickets: the one rule every view applies.

A department key sees and handles only its own department's tickets and figures; reviewer and
admin keys see every department.
"""

from __future__ import annotations

from typing import Protocol

from triage.errors import TriageError

__all__ = ["OutOfScope", "Viewer", "check_holds", "department_filter"]


class Viewer(Protocol):
    role: str
    department: str | None


class OutOfScope(TriageError):
    """A department key asked for another department's ticket or figures (HTTP 403)."""


def department_filter(viewer: Viewer | None, asked: str | None, strict: bool = True) -> str | None:
    """The department a listing or a figure is limited to. A department key asking for another
    department is refused, or held to its own when not ``strict`` (a page's filter)."""
    if viewer is None or viewer.role != "department":
        return asked
    if strict and asked and asked != viewer.department:
        raise OutOfScope("A department key sees only its own department's tickets and figures.")
    return viewer.department


def check_holds(viewer: Viewer | None, ticket_department: str | None) -> None:
    """Refuse a department key a ticket its department does not hold."""
    if viewer is not None and viewer.role == "department" and ticket_department != viewer.department:
        raise OutOfScope("This ticket belongs to another department.")
