"""Training one head with the production pipeline and measuring it on held-out rows (`triage benchmark`)."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.metrics import precision_recall_fscore_support
from sklearn.model_selection import StratifiedKFold

from triage.engine.calibration import routed_alone
from triage.engine.data import Dataset, DataSpec, read_labelled
from triage.engine.metrics import head_metrics
from triage.engine.progress import Progress, quiet
from triage.engine.training import build_model
from triage.errors import BadInput

if TYPE_CHECKING:
    from triage.settings import Settings

HEAD = "label"  # the one head trained, whatever its column is called


def _subset(data: Dataset, rows: np.ndarray, target: str) -> tuple[list[dict[str, str]], list[str]]:
    return [data.items[i] for i in rows], [data.labels[target][i] for i in rows]


def _measure(
    conf: Settings,
    train: tuple[list[dict[str, str]], list[str]],
    test: tuple[list[dict[str, str]], list[str]],
    target: str,
    progress: Progress = quiet,
) -> dict[str, Any]:
    started = time.perf_counter()
    model = build_model(conf, names=None, fallback=None).fit(train[0], {target: train[1]}, progress=progress)
    fit_s = time.perf_counter() - started
    started = time.perf_counter()
    proba = model.predict_proba(test[0])[target]
    predict_s = time.perf_counter() - started
    classes = model.heads_[target].classes
    index = {str(c): i for i, c in enumerate(classes)}
    y = np.array([index.get(lab, -1) for lab in test[1]], dtype=np.int64)
    m = head_metrics(y, proba, classes)
    # The share the model routes alone (confidence at or above its review threshold) and
    # how often those are right: the staff time saved, at the precision promised.
    head = model.heads_[target]
    auto = routed_alone(proba, head.review, head.review_offset, model.block_tops(test[0])[target])
    right = proba.argmax(axis=1) == y
    predicted = [str(c) for c in classes[proba.argmax(axis=1)]]
    return {
        **m,
        "pairs": (list(test[1]), predicted),
        "auto_share": float(auto.mean()),
        "auto_right": int((auto & right).sum()),
        "auto_n": int(auto.sum()),
        "fit_s": fit_s,
        "predict_s": predict_s,
        "n_train": len(train[0]),
        "classes": len(classes),
    }


def benchmark(
    conf: Settings,
    train: Path,
    target: str,
    text_cols: list[str],
    test: Path | None = None,
    folds: int | None = None,
    say: Callable[[str], None] = lambda _m: None,
    progress: Progress = quiet,
    spec: DataSpec | None = None,
) -> dict[str, Any]:
    """Train the labels of column ``target`` on ``train`` and measure them on ``test`` or by
    stratified ``folds``. ``spec`` (encoding, sheet, rare labels; its text and titles unless
    it leaves them at their defaults) says how to read both files, else ``text_cols``."""
    if not text_cols:
        raise BadInput("--text-cols names no column.")
    base = spec or DataSpec()
    if base.text == "text" and not base.titles:  # the columns come from text_cols
        titles = tuple(text_cols[:-1])
        base = replace(base, text=text_cols[-1], titles=() if titles == ("title",) else titles)
    spec = replace(base, heads={HEAD: target})
    target = HEAD
    data = read_labelled([train], spec=spec)
    for sentence in data.report.sentences():
        say(sentence)
    labelled = np.array([i for i, lab in enumerate(data.labels[target]) if lab])
    if test is not None:
        test_data = read_labelled([test], spec=replace(spec, drop_rare=False))
        test_rows = np.array([i for i, lab in enumerate(test_data.labels[target]) if lab])
        say(f"Training on {len(labelled)} rows, testing on {len(test_rows)}.")
        runs = [
            _measure(
                conf,
                _subset(data, labelled, target),
                _subset(test_data, test_rows, target),
                target,
                progress,
            )
        ]
    else:
        if folds is None or folds < 2:
            raise BadInput("--folds must be at least 2.")
        y = np.array([data.labels[target][i] for i in labelled])
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The least populated class")
            splits = list(StratifiedKFold(folds, shuffle=True, random_state=0).split(labelled, y))
        runs = []
        for k, (tr, te) in enumerate(splits, start=1):
            progress("folds", k - 1, folds)
            say(f"Fold {k}/{folds}: training on {len(tr)} rows.")
            runs.append(
                _measure(
                    conf,
                    _subset(data, labelled[tr], target),
                    _subset(data, labelled[te], target),
                    target,
                )
            )
        progress("folds", folds, folds)
    n_test = sum(r["n"] for r in runs)
    summary = {
        "accuracy": float(np.average([r["accuracy"] for r in runs], weights=[r["n"] for r in runs])),
        "macro_f1": float(np.mean([r["macro_f1"] for r in runs])),
        "top3": float(np.average([r["top3"] for r in runs], weights=[r["n"] for r in runs])),
        "n_train": int(np.mean([r["n_train"] for r in runs])),
        "n_test": n_test,
        "classes": int(max(r["classes"] for r in runs)),
        "auto_share": float(sum(r["auto_n"] for r in runs) / n_test),
        "auto_precision": float(sum(r["auto_right"] for r in runs) / max(1, sum(r["auto_n"] for r in runs))),
        "fit_s": round(float(np.mean([r["fit_s"] for r in runs])), 2),
        "predict_texts_per_s": round(n_test / sum(r["predict_s"] for r in runs), 1),
        "unseen_labels": sum(r["unseen_labels"] for r in runs),
        "per_class": _per_class(
            [t for r in runs for t in r["pairs"][0]], [p for r in runs for p in r["pairs"][1]]
        ),
    }
    return summary


def _per_class(true: list[str], predicted: list[str]) -> dict[str, dict[str, float]]:
    """Precision, recall, F1 and support of every true label, over all test rows (all folds)."""
    labels = sorted(set(true))
    p, r, f, n = precision_recall_fscore_support(true, predicted, labels=labels, zero_division=0)
    return {
        lab: {
            "precision": round(float(p[i]), 4),
            "recall": round(float(r[i]), 4),
            "f1": round(float(f[i]), 4),
            "support": int(n[i]),
        }
        for i, lab in enumerate(labels)
    }
