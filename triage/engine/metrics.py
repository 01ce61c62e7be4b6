"""Metrics shared by the model card, `triage evaluate` and `triage benchmark`."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)

__all__ = ["head_metrics", "in_topk", "topk_accuracy"]


def in_topk(proba: np.ndarray, y: np.ndarray, k: int = 3) -> np.ndarray:
    """Per row, whether its true class index is among the k highest scores (y < 0: never)."""
    top = np.argsort(-proba, axis=1, kind="stable")[:, :k]
    return np.asarray((top == y[:, None]).any(axis=1))


def topk_accuracy(proba: np.ndarray, y: np.ndarray, k: int = 3) -> float:
    """Share of rows whose true class index is among the k highest scores (y < 0: never)."""
    if not len(y):
        return float("nan")
    return float(in_topk(proba, y, k).mean())


def head_metrics(
    y: np.ndarray, proba: np.ndarray, classes: np.ndarray, confusion: bool = False
) -> dict[str, Any]:
    """Accuracy, macro-F1, top-3 and per-class figures; y holds class indices, -1 for a label
    the model never saw (always an error)."""
    pred = proba.argmax(axis=1)
    labels = np.arange(len(classes))
    seen = y >= 0
    y_cmp = np.where(seen, y, len(classes))  # unseen labels: a class no prediction can hit
    p, r, f, s = precision_recall_fscore_support(y_cmp, pred, labels=labels, zero_division=0)
    present = np.union1d(np.unique(y_cmp[seen]), np.unique(pred))
    out: dict[str, Any] = {
        "n": len(y),
        "accuracy": float(accuracy_score(y_cmp, pred)),
        "macro_f1": float(f1_score(y_cmp, pred, labels=present, average="macro", zero_division=0)),
        "top3": topk_accuracy(proba, y_cmp, 3),
        "unseen_labels": int((~seen).sum()),
        "per_class": {
            str(c): {
                "precision": round(float(p[i]), 4),
                "recall": round(float(r[i]), 4),
                "f1": round(float(f[i]), 4),
                "support": int(s[i]),
            }
            for i, c in enumerate(classes)
        },
    }
    if confusion:
        out["confusion"] = confusion_matrix(y_cmp[seen], pred[seen], labels=labels).tolist()
    return out
