"""Retraining from verified corrections, the evaluation data the gate uses, promotion."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from triage.engine.data import Dataset, read_labelled
from triage.engine.heads import TAXONOMY_FILE, Heads
from triage.engine.model import TriageModel
from triage.engine.persist import load_model
from triage.engine.progress import Progress, quiet
from triage.engine.scoring import ServingModel
from triage.engine.text import prepare
from triage.engine.training import build_model, default_data_files, split_base
from triage.errors import BadInput, ModelRefused
from triage.service import registry
from triage.service.gate import GateResult, compare
from triage.service.review import verified_labels

if TYPE_CHECKING:
    from triage.settings import Settings

__all__ = ["EvalSet", "evaluation_data", "promote", "retrain"]

MIN_CORRECTIONS_TO_HOLD_OUT = 10
RECENT_SHARE = 0.2
CORRECTION_WEIGHT = 5.0  # a person checked it: it counts more than a base row


@dataclass
class EvalSet:
    items: list[dict[str, Any]]
    labels: dict[str, list[str]]
    base_rows: int
    correction_rows: int


def _split_corrections(
    corrections: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(to train on, most recent ones held out for the gate)."""
    if len(corrections) < MIN_CORRECTIONS_TO_HOLD_OUT:
        return corrections, []
    cut = len(corrections) - max(1, round(len(corrections) * RECENT_SHARE))
    return corrections[:cut], corrections[cut:]


def base_data(settings: Settings, heads: Heads, base: Dataset | None = None) -> Dataset:
    """The labelled data a model with ``heads`` is retrained and gated on: ``base`` when
    given (a centre's own files), else the project's data (data/messages), its columns of
    those heads only. Project data whose labels the model does not know is not the data
    that model was trained on, and is refused in a sentence rather than mixed in."""
    if base is not None:
        return base
    data = read_labelled(default_data_files(settings), heads=list(heads))
    # Only the train part: a rare label may sit wholly in the held-out tenth the model never saw.
    trained_on, _ = split_base(data)
    for h in heads:
        foreign = sorted({lab for lab in trained_on.labels.get(h, []) if lab} - set(heads.labels[h]))
        if foreign:
            raise BadInput(
                f"The active model was not trained on the project's data (its {h} head has no "
                f"label {foreign[0]!r}); retrain it from its own data files."
            )
    return data


def _labels(rows: list[dict[str, Any]], head: str) -> list[str]:
    """Each verdict's label of ``head``; '' (left out of that head) for a verdict of a model
    that had no such head."""
    return [str(r["labels"].get(head) or "") for r in rows]


def evaluation_data(
    settings: Settings, session: Session, heads: Heads, base: Dataset | None = None
) -> EvalSet:
    _, held = split_base(base_data(settings, heads, base))
    _, recent = _split_corrections(verified_labels(session))
    items = held.items + [{"text": r["text"], "title": ""} for r in recent]
    labels = {h: held.labels.get(h, [""] * len(held)) + _labels(recent, h) for h in heads}
    return EvalSet(items, labels, len(held), len(recent))


def training_set(
    settings: Settings, session: Session, heads: Heads, base: Dataset | None = None
) -> tuple[list[dict[str, Any]], dict[str, list[str]], list[float], int]:
    """Base train part plus verified corrections, for the heads of the active model; a
    correction replaces the base row with the same (masked, normalized) text."""
    base_train, _ = split_base(base_data(settings, heads, base))
    learn, _ = _split_corrections(verified_labels(session))
    corrected = {r["text"] for r in learn}
    items: list[dict[str, str]] = []
    labels: dict[str, list[str]] = {h: [] for h in heads}
    weights: list[float] = []
    for i, item in enumerate(base_train.items):
        if prepare(item["text"], item.get("title")) in corrected:
            continue
        items.append(item)
        weights.append(1.0)
        for h in heads:
            labels[h].append(base_train.labels[h][i] if h in base_train.labels else "")
    for row in learn:
        items.append({"text": row["text"], "title": ""})
        weights.append(CORRECTION_WEIGHT)
        for h in heads:
            labels[h].append(str(row["labels"].get(h) or ""))
    return items, labels, weights, len(learn)


def retrain(
    settings: Settings,
    session: Session,
    say: Callable[[str], None],
    progress: Progress = quiet,
    base: Dataset | None = None,
) -> tuple[TriageModel, Path]:
    """A new version with the heads of the active model (and its taxonomy.json, copied), from
    ``base`` (default: the project's data) and every verified correction."""
    active = registry.resolve_model_dir(settings, session)
    if active is None:
        raise ModelRefused("No trained model to retrain: run `triage train` first.")
    heads = registry.heads_of_folder(settings, active)
    items, labels, weights, n_corrections = training_set(settings, session, heads, base)
    say(
        f"Training on {len(items)} messages, {n_corrections} of them verified corrections; "
        f"heads: {', '.join(heads)}."
    )
    # End the read transaction before the long fit: it must hold no snapshot that keeps
    # SQLite's WAL from being checkpointed or PostgreSQL's vacuum from cleaning up meanwhile.
    session.commit()
    # Names and the fallback as the active model's taxonomy has them now.
    params = {"names": {h: dict(heads.names[h]) for h in heads}, "fallback": dict(heads.fallback)}
    try:
        model = build_model(settings, **params).fit(items, labels, sample_weight=weights, progress=progress)
    except ValueError as exc:  # e.g. a head left with a single label
        raise BadInput(f"Cannot retrain on this data: {str(exc).rstrip('.')}.") from exc
    corrections = items[len(items) - n_corrections :]
    model.remember(corrections, {h: labels[h][len(items) - n_corrections :] for h in heads})
    folder = Path(settings.models_dir) / model.version_
    model.save(folder, {"corrections_learned": n_corrections, "trained_by": "retrain"})
    if (active / TAXONOMY_FILE).is_file():
        (folder / TAXONOMY_FILE).write_bytes((active / TAXONOMY_FILE).read_bytes())
    return model, folder


def _load_checked(folder: Path) -> ServingModel:
    """Load and route one text, as a worker does before it serves a model."""
    model = load_model(folder)
    model.route("加载检查")
    return model


def gate(
    settings: Settings, session: Session, candidate: ServingModel, base: Dataset | None = None
) -> GateResult:
    """Compare ``candidate`` with the model the workers serve: the active version or, when it
    cannot be loaded, the newest earlier version that can, which is what they fall back to.
    With none that loads there is nothing to be worse than, and the gate passes. ``base``:
    a centre's own data, whose held-out part (with recent corrections) is the comparison."""
    folders = registry.serving_order(
        settings.model_copy(update={"model": ""}), session, exclude=candidate.version_
    )
    baseline, folder, refused = registry.first_loadable(folders, _load_checked)
    why = [f"{version} cannot be loaded ({str(exc).rstrip('.')})" for version, exc in refused.items()]
    if baseline is None or folder is None:
        if not folders:
            return GateResult(passed=True, note="nothing to compare with: there is no active model yet.")
        return GateResult(
            passed=True,
            note="nothing to compare with, so the candidate passes: no version in the registry "
            f"history loads: {'; '.join(why)}.",
        )
    if why:
        note = (
            f"compared with {folder.name}, the newest earlier version that loads, which the workers "
            f"fall back to: the active model {'; '.join(why)}."
        )
    else:
        note = f"compared with the active model {folder.name}."
    data = evaluation_data(settings, session, registry.heads_of_folder(settings, folder), base)
    result = compare(
        baseline,
        candidate,
        data.items,
        data.labels,
        settings.gate_max_f1_drop,
        settings.gate_max_recall_drop,
        alpha=settings.gate_alpha,
    )
    result.compared_with, result.note = folder.name, note
    return result


def promote(
    settings: Settings,
    session: Session,
    version: str,
    actor: str,
    say: Callable[[str], None],
    force: bool = False,
    action: str = "promote",
    base: Dataset | None = None,
) -> bool:
    """Gate ``version`` against the active model (on ``base``, see :func:`gate`) and make it
    active if it passes (or if forced). A folder that does not load is refused whatever
    ``force`` says."""
    folder = registry.version_dir(Path(settings.models_dir), version)
    if not folder.is_dir():
        raise BadInput(f"No model version {version} in {settings.models_dir}.")
    try:
        candidate = _load_checked(folder)
    except ModelRefused as exc:
        raise ModelRefused(f"Refusing to promote {version}: {exc}") from exc
    before = registry.resolve_model_dir(settings.model_copy(update={"model": ""}), session, exclude=version)
    if registry.active_version(session) is None and before is not None:
        registry.record(session, before.name, "initial", actor)  # so a rollback can return to it
    if action == "promote":
        result = gate(settings, session, candidate, base)
        say(result.table())
        if not result.passed and not force:
            return False
        note = "forced past the gate: " + "; ".join(result.reasons) if not result.passed else None
        _mark_card(
            folder,
            {
                "promoted_by": actor,
                "forced": bool(force and not result.passed),
                "gate": note,
                "compared_with": result.compared_with,
            },
        )
    else:
        note = None
    registry.record(session, version, action, actor, forced=force, note=note)
    return True


def _mark_card(folder: Path, promotion: dict[str, Any]) -> None:
    import json

    card_path = folder / "card.json"
    card = json.loads(card_path.read_text(encoding="utf-8"))
    card.setdefault("promotions", []).append(promotion)
    tmp = card_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(card, ensure_ascii=False, indent=2))
    tmp.replace(card_path)
