"""Training the default model (or any labelled CSV) and writing a model folder."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from triage.engine.data import Dataset, DataSpec, load_taxonomy, read_labelled, read_lines
from triage.engine.model import TriageModel
from triage.engine.progress import Progress, quiet
from triage.engine.taxonomy import (
    FALLBACK_HEAD,
    build_taxonomy,
    choose_fallback,
    names_of,
    read_taxonomy,
    section,
    write_taxonomy,
)
from triage.errors import BadInput

if TYPE_CHECKING:
    from triage.settings import Settings

__all__ = [
    "HOLDOUT_PERCENT",
    "build_model",
    "default_data_files",
    "new_taxonomy",
    "split_base",
    "train",
]

# A fixed tenth of the project's data, chosen by row id, that models made from the default
# data never train on: the promotion gate compares models on it.
HOLDOUT_PERCENT = 10

log = logging.getLogger(__name__)


def default_data_files(settings: Settings) -> list[Path]:
    return sorted((Path(settings.data_dir) / "messages").glob("*.csv"))


def in_holdout(row_id: str) -> bool:
    return int(hashlib.sha256(row_id.encode()).hexdigest(), 16) % 100 < HOLDOUT_PERCENT


def split_base(data: Dataset) -> tuple[Dataset, Dataset]:
    """The fixed split of the training data (by row id): (train part, held-out part)."""
    train, held = Dataset(files=data.files, report=data.report), Dataset(files=data.files, report=data.report)
    for i, item in enumerate(data.items):
        part = held if in_holdout(item["id"]) else train
        part.items.append(item)
        for head, labels in data.labels.items():
            part.labels.setdefault(head, []).append(labels[i])
    return train, held


def build_model(settings: Settings, **params: Any) -> TriageModel:
    """A TriageModel configured from the data folder: names, fallback, dictionary, stop words."""
    data_dir = Path(settings.data_dir)
    taxonomy = load_taxonomy(data_dir / "taxonomy.json")
    fallback = dict(taxonomy.fallback)
    if settings.fallback_department:
        fallback["department"] = settings.fallback_department
    defaults: dict[str, Any] = {
        "target_precision": settings.target_precision,
        "coverage": settings.coverage,
        "fallback": fallback,
        "names": taxonomy.names(),
        "userdict": read_lines(data_dir / "userdict.txt"),
        "stopwords": read_lines(data_dir / "stopwords.txt"),
    }
    defaults.update(params)
    return TriageModel(**defaults)


def new_taxonomy(
    settings: Settings,
    labels: dict[str, list[str]],
    fallback: str | None = None,
    base: dict[str, Any] | None = None,
    say: Callable[[str], None] = log.info,
) -> dict[str, Any]:
    """The taxonomy.json of a model trained on ``labels`` (head -> row labels): names and time
    limits from ``base`` (default: data/taxonomy.json) for labels it has, and the fallback
    department: ``fallback`` if given (it must be a label), else the setting's or the base's
    when it is a label, else the most frequent."""
    if base is None:
        base = read_taxonomy(Path(settings.data_dir) / "taxonomy.json")
    classes = {h: sorted({lab for lab in labs if lab}) for h, labs in labels.items()}
    chosen = None
    if FALLBACK_HEAD in labels:
        defaults = [settings.fallback_department, section(base, "fallback").get(FALLBACK_HEAD)]
        chosen, why = choose_fallback(labels[FALLBACK_HEAD], fallback, defaults)
        say(f"Fallback department: {chosen} ({why}).")
    elif fallback is not None:
        raise BadInput("--fallback needs a department head, and this data has none.")
    return build_taxonomy(classes, base, chosen)


def train(
    settings: Settings,
    paths: Sequence[Path] | None = None,
    out: Path | None = None,
    extra: dict[str, Any] | None = None,
    dataset: Dataset | None = None,
    say: Callable[[str], None] = log.info,
    progress: Progress = quiet,
    spec: DataSpec | None = None,
    fallback: str | None = None,
) -> tuple[TriageModel, Path]:
    """Train on ``paths`` read as ``spec`` says (default: data/messages/*.csv), less the fixed
    held-out tenth, or on ``dataset`` as it is, and save a new model folder with its card and
    its taxonomy.json."""
    extra = dict(extra or {})
    if dataset is None:
        # A centre's files as the project's own: the fixed held-out tenth is left out, so that
        # `triage retrain` (which trains on the rest) is gated on rows neither model has seen.
        read = read_labelled(list(paths), spec=spec) if paths else read_labelled(default_data_files(settings))
        for sentence in read.report.sentences():
            say(sentence)
        dataset, held = split_base(read)
        extra["holdout"] = {"percent": HOLDOUT_PERCENT, "rows": len(held)}
        say(f"{len(held)} rows (the fixed held-out tenth) are kept out of training for the promotion gate.")
    taxonomy = new_taxonomy(settings, dataset.labels, fallback, say=say)
    heads = ", ".join(dataset.labels)
    say(f"Training on {len(dataset)} messages from {len(dataset.files)} file(s); heads: {heads}.")
    started = time.perf_counter()
    try:
        model = build_model(settings, names=names_of(taxonomy), fallback=taxonomy["fallback"]).fit(
            dataset.items, dataset.labels, progress=progress
        )
    except ValueError as exc:  # e.g. a head with a single label: the data cannot train it
        raise BadInput(f"Cannot train on this data: {str(exc).rstrip('.')}.") from exc
    seconds = time.perf_counter() - started
    say(f"Fitted and cross-validated in {seconds:.1f} s.")
    folder = out or Path(settings.models_dir) / model.version_
    card_extra = {
        "data": dataset.files,
        "data_report": dataset.report.as_dict(),
        "fit_seconds": round(seconds, 2),
        **extra,
    }
    model.save(folder, card_extra)
    write_taxonomy(folder, taxonomy)
    return model, folder
