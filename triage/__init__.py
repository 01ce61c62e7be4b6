"""Triage of citizen messages to a government service centre.

Importing the package is cheap: jieba, the model and the database load only when asked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["TriageModel", "__version__", "mask"]
__version__ = "0.1.0"

if TYPE_CHECKING:
    from triage.engine.model import TriageModel
    from triage.engine.text import mask


def __getattr__(name: str) -> Any:
    if name == "TriageModel":
        from triage.engine.model import TriageModel

        return TriageModel
    if name == "mask":  # the one masking function: personal data -> placeholders
        from triage.engine.text import mask

        return mask
    raise AttributeError(name)
