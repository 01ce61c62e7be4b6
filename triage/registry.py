"""Which model folder is in use. A version is a folder under the models directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .persist import CARD

__all__ = ["latest_version", "list_versions", "resolve_model_dir"]


def list_versions(models_dir: Path) -> list[str]:
    """Versions present on disk, oldest first (version names sort by creation time)."""
    if not models_dir.is_dir():
        return []
    return sorted(p.name for p in models_dir.iterdir() if (p / CARD).is_file())


def latest_version(models_dir: Path) -> str | None:
    versions = list_versions(models_dir)
    return versions[-1] if versions else None


def resolve_model_dir(settings: dict[str, Any]) -> Path | None:
    """The explicit TRIAGE_MODEL folder, else the newest version, else None."""
    if settings.get("model"):
        return Path(settings["model"])
    models_dir = Path(settings["models_dir"])
    version = latest_version(models_dir)
    return models_dir / version if version else None
