"""Names and time limits of the served model's heads, for responses (triage.engine.heads)."""

from __future__ import annotations

from triage.engine.heads import DEPARTMENT, Heads
from triage.web.state import models

__all__ = ["department_name", "heads", "label_name"]


def heads() -> Heads:
    return models().heads()


def label_name(head: str, label: str | None) -> str:
    return heads().name(head, label)


def department_name(label: str | None) -> str:
    return heads().name(DEPARTMENT, label)
