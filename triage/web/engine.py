"""The model a worker serves, swapped atomically when the active version changes."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from ..errors import ModelRefused
from ..model import TriageModel
from ..registry import resolve_model_dir

__all__ = ["ModelHolder"]

log = logging.getLogger(__name__)


class ModelHolder:
    """Holds the loaded model; ``current`` is a plain attribute read, so a swap is atomic."""

    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self.current: TriageModel | None = None
        self.folder: Path | None = None

    @property
    def version(self) -> str | None:
        return getattr(self.current, "version_", None)

    def load_initial(self) -> None:
        folder = resolve_model_dir(self.settings)
        if folder is None:
            raise ModelRefused(
                "No trained model: run `triage train` (or `triage serve`, which trains one)."
            )
        self.swap_to(folder)

    def swap_to(self, folder: Path) -> TriageModel:
        """Load ``folder`` fully, warm it, then publish it; on failure the old model stays."""
        with self._lock:
            model = TriageModel.load(folder)
            model.route("预热")  # jieba dictionary and feature names load now, not on a request
            self.current, self.folder = model, folder
            log.info("serving model %s", model.version_)
            return model

    def get(self) -> TriageModel:
        model = self.current
        if model is None:
            raise ModelRefused("No model is loaded.")
        return model
