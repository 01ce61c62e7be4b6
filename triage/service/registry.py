"""The model registry: versions are folders under the models directory (possibly shared
storage); which one is active is the newest row of ``model_events`` in the database, so
every process and server sharing the database follows it."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage.engine import heads as heads_mod
from triage.engine.heads import Heads
from triage.engine.persist import CARD, read_card
from triage.errors import BadInput, ModelRefused
from triage.storage.schema import ModelEvent

if TYPE_CHECKING:
    from triage.settings import Settings

__all__ = [
    "VERSION",
    "active_heads",
    "active_version",
    "ensure_active",
    "first_loadable",
    "heads_of_folder",
    "history",
    "latest_version",
    "list_versions",
    "record",
    "resolve_model_dir",
    "rollback_target",
    "serving_order",
    "version_dir",
]

log = logging.getLogger(__name__)
T = TypeVar("T")

#: A version name as TriageModel.fit makes them (UTC date-time and a random suffix, e.g.
#: 20261126-184050-08df); the suffix may be any short run of lower-case letters and digits
#: (hand-made copies). No dot, slash or colon can appear, so a name is never a path.
VERSION = re.compile(r"[0-9]{8}-[0-9]{6}-[0-9a-z]{1,16}")


def version_dir(models_dir: Path, version: object) -> Path:
    """The folder of ``version`` inside the models folder. A name that is not a version name
    (an absolute path, ``..``), or a folder that resolves elsewhere (a symlink), is refused:
    the registry's rows and command-line arguments name versions, never places."""
    if not isinstance(version, str) or not VERSION.fullmatch(version):
        raise ModelRefused(f"{str(version)[:80]!r} is not a model version name (like 20261126-184050-08df).")
    folder = models_dir / version
    if folder.exists() and folder.resolve().parent != models_dir.resolve():
        raise ModelRefused(f"The model folder {version} leads outside the models folder; refusing it.")
    return folder


def _valid(models_dir: Path, version: str) -> Path | None:
    """``version_dir``, or None (logged) for a registry row that names no proper version."""
    try:
        return version_dir(models_dir, version)
    except ModelRefused as exc:
        log.error("model registry entry skipped: %s", exc)
        return None


def list_versions(models_dir: Path) -> list[str]:
    """Versions present on disk, oldest first (version names sort by creation time)."""
    if not models_dir.is_dir():
        return []
    root = models_dir.resolve()
    return sorted(
        p.name
        for p in models_dir.iterdir()
        if VERSION.fullmatch(p.name) and p.resolve().parent == root and (p / CARD).is_file()
    )


def latest_version(models_dir: Path) -> str | None:
    versions = list_versions(models_dir)
    return versions[-1] if versions else None


def active_version(session: Session) -> str | None:
    """The newest registry row's version, as stored: pass it through ``version_dir``."""
    return session.scalar(select(ModelEvent.version).order_by(ModelEvent.id.desc()).limit(1))


def history(session: Session) -> list[ModelEvent]:
    return list(session.scalars(select(ModelEvent).order_by(ModelEvent.id)))


def record(
    session: Session,
    version: str,
    action: str,
    actor: str,
    forced: bool = False,
    note: str | None = None,
) -> ModelEvent:
    event = ModelEvent(version=version, action=action, actor=actor, forced=forced, note=note)
    session.add(event)
    session.commit()
    return event


def ensure_active(session: Session, models_dir: Path, actor: str) -> str | None:
    """With no active version recorded yet, the newest folder on disk becomes the first."""
    current = active_version(session)
    if current is None:
        newest = latest_version(models_dir)
        if newest is not None:
            record(session, newest, "initial", actor)
        return newest
    return current


def rollback_target(session: Session) -> str:
    """The version that was active before the current one."""
    events = history(session)
    if not events:
        raise BadInput("No model has been promoted yet, so there is nothing to roll back to.")
    current = events[-1].version
    for event in reversed(events[:-1]):
        if event.version != current and VERSION.fullmatch(event.version):
            return event.version
    raise BadInput(f"{current} is the only version ever active; there is nothing to roll back to.")


def resolve_model_dir(
    settings: Settings, session: Session | None = None, exclude: str | None = None
) -> Path | None:
    """TRIAGE_MODEL if set, else the registry's active version, else the newest on disk
    (other than ``exclude``, a candidate being judged)."""
    if settings.model:
        return Path(settings.model)
    models_dir = Path(settings.models_dir)
    version = active_version(session) if session is not None else None
    if version is not None:
        return _valid(models_dir, version)
    on_disk = [v for v in list_versions(models_dir) if v != exclude]
    return models_dir / on_disk[-1] if on_disk else None


def serving_order(settings: Settings, session: Session, exclude: str | None = None) -> list[Path]:
    """The folders a worker tries when it starts, in order: what ``resolve_model_dir`` names
    (normally the active version), then each earlier version of the registry history, newest
    first. The first one that loads is the model served, so the promotion gate compares a
    candidate with that one too."""
    models_dir = Path(settings.models_dir)
    first = resolve_model_dir(settings, session, exclude=exclude)
    folders = [first] if first is not None else []
    for event in reversed(history(session)):
        folder = _valid(models_dir, event.version)
        if folder is not None and folder not in folders:
            folders.append(folder)
    return folders


def first_loadable(
    folders: list[Path], load: Callable[[Path], T]
) -> tuple[T | None, Path | None, dict[str, ModelRefused]]:
    """(the first of ``folders`` that ``load`` accepts, its folder, why each one before it
    was refused by version); (None, None, refusals) when none loads."""
    refused: dict[str, ModelRefused] = {}
    for folder in folders:
        try:
            return load(folder), folder, refused
        except ModelRefused as exc:
            refused[folder.name] = exc
    return None, None, refused


def heads_of_folder(settings: Settings, folder: Path) -> Heads:
    """The heads of the model in ``folder`` from its card (the arrays are not loaded), named
    by its taxonomy; BadInput when the fallback department is not one of its departments."""
    card = read_card(folder)
    return heads_mod.of_folder(
        folder, heads_mod.labels_of_card(card), Path(settings.data_dir), settings.fallback_department
    )


def active_heads(settings: Settings, session: Session) -> Heads:
    """The heads of the model the service serves (``resolve_model_dir``)."""
    folder = resolve_model_dir(settings, session)
    if folder is None:
        raise ModelRefused("No trained model: run `triage train` first.")
    return heads_of_folder(settings, folder)
