"""Progress reports from long work (training, evaluation), for whoever wants to show them.

The engine and service layers call a :data:`Progress` callback; the command line passes one
that draws bars on a terminal (triage/cli/progress.py). Nothing here knows about terminals.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["Progress", "quiet"]

Progress = Callable[[str, int, int], None]
"""Called as ``progress(stage, done, total)``; a new ``stage`` starts a new count."""


def quiet(stage: str, done: int, total: int) -> None:
    """Reports nowhere: the default when nobody is watching."""
