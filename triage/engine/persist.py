"""Model folders: the joblib artifact plus card.json, and the checks made before loading."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import joblib

from triage.errors import ModelRefused

if TYPE_CHECKING:
    from triage.engine.model import TriageModel

__all__ = ["ARTIFACT", "CARD", "load_model", "read_card", "save_model", "sha256_of"]

ARTIFACT = "model.joblib"
CARD = "card.json"
CARD_SCHEMA = 1
# A model pickled by one minor version of these may not load, or load wrong, in another.
PINNED = ("scikit-learn", "numpy", "scipy", "jieba")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def package_versions() -> dict[str, str]:
    names = (*PINNED, "opencc", "joblib", "triage")
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def save_model(model: TriageModel, directory: Path, extra: Mapping[str, Any]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    # Write under a temporary name and rename, so a crash never leaves a half artifact.
    fd, tmp = tempfile.mkstemp(dir=directory, suffix=".tmp")
    os.close(fd)
    joblib.dump(model, tmp, compress=3)
    os.replace(tmp, directory / ARTIFACT)
    heads = model.heads_
    card = {
        "schema": CARD_SCHEMA,
        "version": model.version_,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "artifact": {"file": ARTIFACT, "sha256": sha256_of(directory / ARTIFACT)},
        "packages": package_versions(),
        "params": {
            k: v for k, v in model.get_params().items() if k not in ("names", "userdict", "stopwords")
        },
        "n_train": model.n_train_,
        "n_features": model.featurizer_.n_features_,
        "heads": {
            h: {
                "labels": [str(c) for c in m.classes],
                "names": {str(c): m.name_of(str(c)) for c in m.classes},
                "fallback": (model.fallback or {}).get(h),
                **model.cv_[h],
            }
            for h, m in heads.items()
        },
        **extra,
    }
    tmp_card = directory / (CARD + ".tmp")
    tmp_card.write_text(json.dumps(card, ensure_ascii=False, indent=2, default=_jsonable))
    os.replace(tmp_card, directory / CARD)
    return directory


def _jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    return str(value)


def read_card(directory: Path) -> dict[str, Any]:
    path = directory / CARD
    if not path.is_file():
        raise ModelRefused(f"{directory} is not a model folder: it has no {CARD}.")
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelRefused(f"The model card {path} cannot be read: {exc}.") from exc
    if not isinstance(card, dict) or card.get("schema") != CARD_SCHEMA:
        raise ModelRefused(f"The model card {path} is not a card this version understands.")
    return card


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def load_model(directory: Path) -> TriageModel:
    from triage.engine.model import TriageModel

    card = read_card(directory)
    artifact = directory / card.get("artifact", {}).get("file", ARTIFACT)
    if not artifact.is_file():
        raise ModelRefused(f"The model folder {directory} has no artifact {artifact.name}.")
    if sha256_of(artifact) != card["artifact"].get("sha256"):
        raise ModelRefused(
            f"The artifact in {directory} does not match its card (SHA-256 differs); refusing to load it."
        )
    here = package_versions()
    for name in PINNED:
        theirs = card.get("packages", {}).get(name, "absent")
        if _minor(theirs) != _minor(here[name]):
            raise ModelRefused(
                f"The model in {directory} was made with {name} {theirs}, this environment has "
                f"{here[name]}; retrain it with `triage train`."
            )
    try:
        model = joblib.load(artifact)
    except Exception as exc:  # a corrupt pickle can raise almost anything
        raise ModelRefused(f"The artifact in {directory} cannot be loaded: {exc}.") from exc
    if not isinstance(model, TriageModel) or getattr(model, "version_", None) != card["version"]:
        raise ModelRefused(f"The artifact in {directory} is not the model its card describes.")
    return model
