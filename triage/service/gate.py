"""The promotion gate: a candidate replaces the active model only when it is measurably
not worse on the same evaluation data.

A department's recall is judged on the paired predictions: among its rows, b = rows the active
model got right and the candidate wrong, c = the reverse. With ~120 departments of 5-10 rows
each, some department loses a row or two by chance on every retrain (one row of 5 is 0.20), so
a raw threshold refused every candidate. A drop counts only when it is larger than the allowed
drop AND the one-sided exact McNemar test (b of b+c at p=0.5) is significant after
Benjamini-Hochberg across departments. BH fits the gate's question "is any department worse":
when no department is truly worse, the chance of refusing is at most alpha.

A head's macro-F1 is judged the same way: a drop larger than allowed refuses only when a
one-sided paired bootstrap over the evaluation rows finds it significant. Macro-F1 over ~120
departments on a few hundred rows moves by a few points when a handful of rows of rare
departments change hands, so a raw threshold refused a retrained model for -0.026 on 400 rows
(benchmarks.drift --quick), a drop well within chance."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from triage.engine.heads import DEPARTMENT
from triage.engine.metrics import head_metrics
from triage.engine.scoring import ServingModel
from triage.service.grouping import bh_qvalues, binom_sf

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
            if "macro_f1_drop_p" in h:
                lines[-1] += f", drop's bootstrap p {h['macro_f1_drop_p']:.3f}"
            lines.append(f"  {'label':<26}{'recall before':>14}{'after':>8}{'support':>9}")
            for label, before in h["active"]["per_class"].items():
                after = h["candidate"]["per_class"].get(label, {"recall": 0.0})
                mark = "  <-- drop" if after["recall"] < before["recall"] - 1e-9 else ""
                if mark and label in h.get("paired", {}):
                    t = h["paired"][label]
                    mark += f" (b {t['b']}, c {t['c']}, p {t['p']:.3f}, BH q {t['q']:.3f})"
                figures = f"{before['recall']:>14.3f}{after['recall']:>8.3f}{before['support']:>9}"
                lines.append(f"  {label:<26}{figures}{mark}")
        verdict = "PASSED" if self.passed else "REFUSED: " + "; ".join(self.reasons)
        return "\n".join([*lines, f"gate {verdict}"])


def _scores(
    model: ServingModel, items: list[dict[str, Any]], labels: list[str], head: str, classes: list[str]
) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
    """The head's metrics, its top label per row, and which rows the model got right."""
    proba = model.predict_proba(items)[head]
    own = [str(c) for c in model.heads_[head].classes]
    # Put both models' probabilities on one label axis (a new label may exist in one only).
    aligned = np.zeros((len(items), len(classes)))
    for j, label in enumerate(own):
        aligned[:, classes.index(label)] = proba[:, j]
    y = np.array([classes.index(lab) for lab in labels])
    return head_metrics(y, aligned, np.array(classes)), aligned.argmax(axis=1), aligned.argmax(axis=1) == y


def macro_f1_drop_p(
    y: np.ndarray, before: np.ndarray, after: np.ndarray, rounds: int = 2000, seed: int = 0
) -> float:
    """One-sided paired bootstrap p-value of "the candidate's macro-F1 is lower": the share
    of resamples of the rows (both models' predictions kept together) in which it is not.
    Macro-F1 as head_metrics computes it, over the labels present in the resample."""
    n, k = len(y), int(max(y.max(), before.max(), after.max())) + 1
    rng = np.random.default_rng(seed)
    truth_1h = np.zeros((n, k))
    truth_1h[np.arange(n), y] = 1.0
    not_worse = 0
    for start in range(0, rounds, 100):  # 100 resamples at a time bound the memory
        counts = rng.multinomial(n, np.full(n, 1.0 / n), size=min(100, rounds - start)).astype(np.float64)
        truth = counts @ truth_1h
        f1 = []
        for pred in (before, after):
            hit = counts @ (truth_1h * (pred == y)[:, None])
            total = truth + np.stack([np.bincount(pred, weights=c, minlength=k) for c in counts])
            present = total > 0
            f1.append(
                np.where(present, 2 * hit / np.maximum(total, 1e-12), 0.0).sum(axis=1) / present.sum(axis=1)
            )
        not_worse += int((f1[1] >= f1[0]).sum())
    return float((1 + not_worse) / (rounds + 1))


def paired_drops(
    labels: list[str], right_before: np.ndarray, right_after: np.ndarray, min_support: int
) -> dict[str, dict[str, Any]]:
    """Per label with at least ``min_support`` rows: b (right before, wrong after), c (the
    reverse), the one-sided exact McNemar p = P(X >= b), X ~ Binomial(b + c, 1/2), and its
    Benjamini-Hochberg q across those labels."""
    y = np.array(labels)
    out: dict[str, dict[str, Any]] = {}
    for label in sorted(set(labels)):
        rows = y == label
        if rows.sum() < min_support:
            continue
        b = int((right_before[rows] & ~right_after[rows]).sum())
        c = int((~right_before[rows] & right_after[rows]).sum())
        out[label] = {"b": b, "c": c, "p": binom_sf(b - 1, b + c, 0.5)}
    for t, q in zip(out.values(), bh_qvalues([t["p"] for t in out.values()]), strict=True):
        t["q"] = q
    return out


def compare(
    active: ServingModel,
    candidate: ServingModel,
    items: list[dict[str, Any]],
    labels: dict[str, list[str]],
    max_f1_drop: float,
    max_recall_drop: float,
    min_support: int = 5,
    alpha: float = 0.05,
) -> GateResult:
    """Refuse when any head's macro-F1 drops by more than ``max_f1_drop`` and the drop is
    significant (paired bootstrap p below ``alpha``), or any department
    (with at least ``min_support`` evaluation rows) loses more than ``max_recall_drop`` recall
    and that loss is significant (BH-adjusted one-sided McNemar q below ``alpha``)."""
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
        before, pred_before, right_before = _scores(active, sub_items, sub_labels, head, classes)
        after, pred_after, right_after = _scores(candidate, sub_items, sub_labels, head, classes)
        result.heads[head] = {"n": len(rows), "active": before, "candidate": after}
        drop = before["macro_f1"] - after["macro_f1"]
        if drop > max_f1_drop:
            y = np.array([classes.index(lab) for lab in sub_labels])
            p = macro_f1_drop_p(y, pred_before, pred_after)
            result.heads[head]["macro_f1_drop_p"] = p
            if p < alpha:
                result.passed = False
                result.reasons.append(
                    f"{head} macro-F1 drops by {drop:.3f} "
                    f"(allowed {max_f1_drop}; bootstrap p {p:.2g} < {alpha})"
                )
        if head == DEPARTMENT:
            paired = paired_drops(sub_labels, right_before, right_after, min_support)
            result.heads[head]["paired"] = paired
            for label, t in paired.items():
                lost = before["per_class"][label]["recall"] - after["per_class"][label]["recall"]
                if lost > max_recall_drop and t["q"] < alpha:
                    result.passed = False
                    result.reasons.append(
                        f"recall of {label} drops by {lost:.3f} (allowed {max_recall_drop}; "
                        f"b {t['b']}, c {t['c']}, BH q {t['q']:.2g} < {alpha})"
                    )
    return result
