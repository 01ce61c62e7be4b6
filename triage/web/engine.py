"""The model a worker serves. A background thread follows the registry's active version
in the database and swaps the model atomically: a request sees the old model or the new
one, never none, and a version that fails to load is refused while the old one serves on."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from triage.engine import heads as heads_mod
from triage.engine.heads import Heads
from triage.engine.persist import load_model
from triage.engine.scoring import ServingModel
from triage.errors import BadInput, ModelRefused
from triage.service.registry import active_version, first_loadable, serving_order, version_dir

if TYPE_CHECKING:
    from triage.settings import Settings

__all__ = ["ModelHolder"]

log = logging.getLogger(__name__)


class ModelHolder:
    def __init__(self, settings: Settings, sessions: Callable[[], Session]) -> None:
        self.settings = settings
        self.sessions = sessions
        # The model and its heads, published together in one assignment.
        self.served: tuple[ServingModel, Heads] | None = None
        self.folder: Path | None = None
        self.refused: set[str] = set()
        self._lock = threading.Lock()
        self._watcher: threading.Thread | None = None
        self._stop = threading.Event()

    @property
    def current(self) -> ServingModel | None:
        return self.served[0] if self.served is not None else None

    @property
    def version(self) -> str | None:
        return getattr(self.current, "version_", None)

    def get(self) -> ServingModel:
        return self.both()[0]

    def heads(self) -> Heads:
        """The served model's heads (triage.engine.heads): which, their labels and names."""
        return self.both()[1]

    def both(self) -> tuple[ServingModel, Heads]:
        """The model and its heads as one pair (a swap in between never mixes them)."""
        served = self.served
        if served is None:
            raise ModelRefused("No model is loaded.")
        return served

    def load_initial(self) -> None:
        """The active version; if it cannot load, the newest earlier one that can."""
        with self.sessions() as session:
            folders = serving_order(self.settings, session)
        if not folders:
            raise ModelRefused("No trained model: run `triage train` (or `triage serve`, which trains one).")
        model, _, refused = first_loadable(folders, self.swap_to)
        for version, exc in refused.items():
            self.refused.add(version)
            log.error("model %s refused: %s", version, exc)
        if model is None:
            raise ModelRefused(f"No model in {self.settings.models_dir} could be loaded.")

    def swap_to(self, folder: Path) -> ServingModel:
        """Load and warm ``folder`` completely, then publish it in one assignment."""
        with self._lock:
            model = load_model(folder)
            heads = self.heads_for(model, folder)
            model.route("预热")  # reason names are worked out now, not inside a request
            self.served, self.folder = (model, heads), folder
            log.info("serving model %s", model.version_)
            return model

    def heads_for(self, model: ServingModel, folder: Path) -> Heads:
        """``model``'s heads, named by its taxonomy; a fallback department it does not have
        refuses the model (nothing could be delivered there)."""
        try:
            heads = heads_mod.of_folder(
                folder,
                heads_mod.labels_of_model(model),
                Path(self.settings.data_dir),
                self.settings.fallback_department,
            )
        except BadInput as exc:
            raise ModelRefused(str(exc)) from exc
        heads_mod.dress(model, heads)
        return heads

    def refresh(self) -> bool:
        """Follow the registry once; True if the served model changed."""
        if self.settings.model:
            return False  # pinned by TRIAGE_MODEL
        with self.sessions() as session:
            wanted = active_version(session)
        if not wanted or wanted == self.version or wanted in self.refused:
            return False
        try:
            self.swap_to(version_dir(Path(self.settings.models_dir), wanted))
            return True
        except ModelRefused as exc:
            self.refused.add(wanted)
            log.error("active model %s refused, still serving %s: %s", wanted, self.version, exc)
            return False

    def watch(self) -> None:
        """Start the follower thread once per process (after gunicorn's fork)."""
        if self._watcher is not None or self.settings.model:
            return
        with self._lock:
            if self._watcher is None:
                self._watcher = threading.Thread(target=self._follow, name="model-follower", daemon=True)
                self._watcher.start()

    def _follow(self) -> None:
        interval = float(self.settings.model_reload_seconds)
        while not self._stop.wait(interval):
            try:
                self.refresh()
            except Exception:  # the database may be briefly away; try again next tick
                log.warning("could not check the active model version", exc_info=True)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop following, and wait for a check under way to end: it holds a database
        connection, which would otherwise go back to a pool already disposed of and never be
        closed (psycopg's ResourceWarning when it is collected, in whatever runs then)."""
        self._stop.set()
        watcher = self._watcher
        if watcher is not None and watcher is not threading.current_thread():
            watcher.join(timeout)
