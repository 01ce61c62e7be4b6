"""Exceptions that carry a sentence for the user and, for commands, an exit code."""

from __future__ import annotations

__all__ = ["BadInput", "ModelRefused", "TriageError"]


class TriageError(Exception):
    """Base of the errors this package raises on purpose; ``str(e)`` is for the user."""

    exit_code = 1


class BadInput(TriageError):
    """The user's input (a file, a column, a text, an option) cannot be used."""

    exit_code = 2


class ModelRefused(TriageError):
    """A model folder is missing, tampered with, or made by incompatible versions."""

    exit_code = 3
