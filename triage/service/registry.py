"""The model registry: versions are folders under the models directory (possibly shared
storage); which one is active is the newest row of ``model_events`` in the database, so
every process and server sharing the database follows it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage.engine.persist import CARD
from triage.errors import BadInput, ModelRefused
from triage.storage.schema import ModelEvent

if TYPE_CHECKING:
    from triage.settings import Settings

__all__ = [
    "active_version",
    "ensure_active",
    "first_loadable",
    "history",
    "latest_version",
    "list_versions",
    "record",
    "resolve_model_dir",
    "rollback_target",
    "serving_order",
]

T = TypeVar("T")


def list_versions(models_dir: Path) -> list[str]:
    """Versions present on disk, oldest first (version names sort by creation time)."""
    if not models_dir.is_dir():
        return []
    return sorted(p.name for p in models_dir.iterdir() if (p / CARD).is_file())


def latest_version(models_dir: Path) -> str | None:
    versions = list_versions(models_dir)
    return versions[-1] if versions else None


def active_version(session: Session) -> str | None:
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
        if event.version != current:
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
    if version is None:
        on_disk = [v for v in list_versions(models_dir) if v != exclude]
        version = on_disk[-1] if on_disk else None
    return models_dir / version if version else None


def serving_order(settings: Settings, session: Session, exclude: str | None = None) -> list[Path]:
    """The folders a worker tries when it starts, in order: what ``resolve_model_dir`` names
    (normally the active version), then each earlier version of the registry history, newest
    first. The first one that loads is the model served, so the promotion gate compares a
    candidate with that one too."""
    first = resolve_model_dir(settings, session, exclude=exclude)
    if first is None:
        return []
    models_dir = Path(settings.models_dir)
    folders = [first]
    for event in reversed(history(session)):
        folder = models_dir / event.version
        if folder not in folders:
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
