"""Spreadsheet cells that stay text: written by exports and by ``triage predict``."""

from __future__ import annotations

__all__ = ["FORMULA_START", "as_text"]

# A cell starting with one of these is a formula to Excel and LibreOffice: citizens' text
# must stay text (CSV/formula injection), so such a cell gets a leading apostrophe.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def as_text(value: str) -> str:
    """A value a spreadsheet shows as written, never runs as a formula."""
    return "'" + value if value.startswith(FORMULA_START) else value
