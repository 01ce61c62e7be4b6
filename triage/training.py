"""Training the default model (or any labelled CSV) and writing a model folder."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .data import Dataset, load_taxonomy, read_labelled, read_lines
from .model import TriageModel

__all__ = ["build_model", "default_data_files", "train"]

log = logging.getLogger(__name__)


def default_data_files(settings: dict[str, Any]) -> list[Path]:
    return sorted((Path(settings["data_dir"]) / "messages").glob("*.csv"))


def build_model(settings: dict[str, Any], **params: Any) -> TriageModel:
    """A TriageModel configured from the data folder: names, fallback, dictionary, stop words."""
    data_dir = Path(settings["data_dir"])
    taxonomy = load_taxonomy(data_dir / "taxonomy.json")
    fallback = dict(taxonomy.fallback)
    if settings.get("fallback_department"):
        fallback["department"] = settings["fallback_department"]
    defaults: dict[str, Any] = {
        "target_precision": settings["target_precision"],
        "coverage": settings["coverage"],
        "fallback": fallback,
        "names": taxonomy.names(),
        "userdict": read_lines(data_dir / "userdict.txt"),
        "stopwords": read_lines(data_dir / "stopwords.txt"),
    }
    defaults.update(params)
    return TriageModel(**defaults)


def train(
    settings: dict[str, Any],
    paths: Sequence[Path] | None = None,
    out: Path | None = None,
    extra: dict[str, Any] | None = None,
    dataset: Dataset | None = None,
    say: Callable[[str], None] = log.info,
) -> tuple[TriageModel, Path]:
    """Train on ``paths`` (default: data/messages/*.csv) and save a new model folder."""
    if dataset is None:
        paths = list(paths or default_data_files(settings))
        dataset = read_labelled(paths)
    heads = ", ".join(dataset.labels)
    say(f"Training on {len(dataset)} messages from {len(dataset.files)} file(s); heads: {heads}.")
    started = time.perf_counter()
    model = build_model(settings).fit(dataset.items, dataset.labels)
    seconds = time.perf_counter() - started
    say(f"Fitted and cross-validated in {seconds:.1f} s.")
    folder = out or Path(settings["models_dir"]) / model.version_
    card_extra = {"data": dataset.files, "fit_seconds": round(seconds, 2), **(extra or {})}
    model.save(folder, card_extra)
    return model, folder
