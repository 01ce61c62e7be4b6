"""Exceptions that carry a sentence for the user and, for commands, an exit code.

:class:`ExitCode` is the one list of the command's exit statuses (the README's table is checked
against it by a test).
"""

from __future__ import annotations

from enum import IntEnum

__all__ = [
    "BadInput",
    "DatabaseUnusable",
    "ExitCode",
    "GateRefused",
    "ModelRefused",
    "TriageError",
]


class ExitCode(IntEnum):
    """What `triage` exits with; :attr:`meaning` is the text of `triage --help` and the README."""

    OK = 0
    ERROR = 1
    BAD_INPUT = 2
    MODEL_REFUSED = 3
    GATE_REFUSED = 4
    DATABASE_UNUSABLE = 5
    INTERRUPTED = 130

    @property
    def meaning(self) -> str:
        return _MEANINGS[self]


_MEANINGS = {
    ExitCode.OK: "done",
    ExitCode.ERROR: "another error, e.g. a file or folder that cannot be written",
    ExitCode.BAD_INPUT: "bad input: a file, column, option, setting or text that cannot be used",
    ExitCode.MODEL_REFUSED: "model refused: a model folder missing, tampered with, or from other versions",
    ExitCode.GATE_REFUSED: "gate refused: the candidate model is worse, nothing was changed",
    ExitCode.DATABASE_UNUSABLE: "database unusable: it cannot be reached, read or written",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C)",
}


class TriageError(Exception):
    """Base of the errors this package raises on purpose; ``str(e)`` is for the user."""

    exit_code: int = ExitCode.ERROR


class BadInput(TriageError):
    """The user's input (a file, a column, a text, an option, a setting) cannot be used."""

    exit_code = ExitCode.BAD_INPUT


class ModelRefused(TriageError):
    """A model folder is missing, tampered with, or made by incompatible versions."""

    exit_code = ExitCode.MODEL_REFUSED


class GateRefused(TriageError):
    """The promotion gate refused a candidate model (it is kept on disk, not made active)."""

    exit_code = ExitCode.GATE_REFUSED


class DatabaseUnusable(TriageError):
    """The database cannot be reached, read or written (missing, read-only, full, refused)."""

    exit_code = ExitCode.DATABASE_UNUSABLE
