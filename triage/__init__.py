"""Triage of citizen messages to a government service centre.

Importing the package is cheap: jieba, the model and the database load only when asked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["TriageModel", "__version__"]
__version__ = "0.1.0"

if TYPE_CHECKING:
    from triage.engine.model import TriageModel


def __getattr__(name: str) -> Any:
    if name == "TriageModel":
        from triage.engine.model import TriageModel

        return TriageModel
    raise AttributeError(name)
