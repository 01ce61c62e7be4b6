"""The promotion gate: a candidate replaces the active model only when it is measurably
not worse on the same evaluation data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from triage.engine.heads import DEPARTMENT
from triage.engine.metrics import head_metrics
from triage.engine.scoring import ServingModel

__all__ = ["GateResult", "compare"]


@dataclass
class GateResult:
    passed: bool
    reasons: list[str] = field(default_factory=list)
    heads: dict[str, dict[str, Any]] = field(default_factory=dict)
    compared_with: str | None = None  # the version judged against; None when there was none
    note: str = ""  # which version was compared, and why that one

    def table(self) -> str:
        """Per-class comparison, printed whether the gate passes or not."""
        lines = [f"gate: {self.note}"] if self.note else []
        for head, h in self.heads.items():
            lines.append(
                f"{head}: macro-F1 {h['active']['macro_f1']:.3f} -> {h['candidate']['macro_f1']:.3f} "
                f"(accuracy {h['active']['accuracy']:.3f} -> {h['candidate']['accuracy']:.3f}, n={h['n']})"
            )
            lines.append(f"  {'label':<26}{'recall before':>14}{'after':>8}{'support':>9}")
            for label, before in h["active"]["per_class"].items():
                after = h["candidate"]["per_class"].get(label, {"recall": 0.0})
                mark = "  <-- drop" if after["recall"] < before["recall"] - 1e-9 else ""
                figures = f"{before['recall']:>14.3f}{after['recall']:>8.3f}{before['support']:>9}"
                lines.append(f"  {label:<26}{figures}{mark}")
        verdict = "PASSED" if self.passed else "REFUSED: " + "; ".join(self.reasons)
        return "\n".join([*lines, f"gate {verdict}"])


def _scores(
    model: ServingModel, items: list[dict[str, Any]], labels: list[str], head: str, classes: list[str]
) -> dict[str, Any]:
    proba = model.predict_proba(items)[head]
    own = [str(c) for c in model.heads_[head].classes]
    # Put both models' probabilities on one label axis (a new label may exist in one only).
    aligned = np.zeros((len(items), len(classes)))
    for j, label in enumerate(own):
        aligned[:, classes.index(label)] = proba[:, j]
    y = np.array([classes.index(lab) for lab in labels])
    return head_metrics(y, aligned, np.array(classes))


def compare(
    active: ServingModel,
    candidate: ServingModel,
    items: list[dict[str, Any]],
    labels: dict[str, list[str]],
    max_f1_drop: float,
    max_recall_drop: float,
    min_support: int = 5,
) -> GateResult:
    """Refuse when any head's macro-F1 drops by more than ``max_f1_drop`` or any department
    (with at least ``min_support`` evaluation rows) loses more than ``max_recall_drop`` recall."""
    result = GateResult(passed=True)
    for head in candidate.heads:
        if head not in active.heads or head not in labels:
            continue
        rows = [i for i, lab in enumerate(labels[head]) if lab]
        sub_items = [items[i] for i in rows]
        sub_labels = [labels[head][i] for i in rows]
        classes = sorted(
            {
                *map(str, active.heads_[head].classes),
                *map(str, candidate.heads_[head].classes),
                *sub_labels,
            }
        )
        before = _scores(active, sub_items, sub_labels, head, classes)
        after = _scores(candidate, sub_items, sub_labels, head, classes)
        result.heads[head] = {"n": len(rows), "active": before, "candidate": after}
        drop = before["macro_f1"] - after["macro_f1"]
        if drop > max_f1_drop:
            result.passed = False
            result.reasons.append(f"{head} macro-F1 drops by {drop:.3f} (allowed {max_f1_drop})")
        if head == DEPARTMENT:
            for label, b in before["per_class"].items():
                a = after["per_class"].get(label, {"recall": 0.0})
                lost = b["recall"] - a["recall"]
                if b["support"] >= min_support and lost > max_recall_drop:
                    result.passed = False
                    result.reasons.append(
                        f"recall of {label} drops by {lost:.3f} (allowed {max_recall_drop})"
                    )
    return result
