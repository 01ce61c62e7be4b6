"""Training one head with the production pipeline on a CSV and measuring it (`triage benchmark`)."""

from __future__ import annotations

import argparse
import json
import time
import warnings
from typing import Any

import numpy as np
from sklearn.model_selection import StratifiedKFold

from .commands.common import existing_file, say, settings
from .data import Dataset, read_labelled
from .errors import BadInput
from .metrics import head_metrics
from .training import build_model


def _subset(data: Dataset, rows: np.ndarray, target: str) -> tuple[list[dict[str, str]], list[str]]:
    return [data.items[i] for i in rows], [data.labels[target][i] for i in rows]


def _measure(train: tuple[list, list], test: tuple[list, list], target: str) -> dict[str, Any]:
    conf = settings()
    started = time.perf_counter()
    model = build_model(conf, names=None, fallback=None).fit(train[0], {target: train[1]})
    fit_s = time.perf_counter() - started
    started = time.perf_counter()
    proba = model.predict_proba(test[0])[target]
    predict_s = time.perf_counter() - started
    classes = model.heads_[target].classes
    index = {str(c): i for i, c in enumerate(classes)}
    y = np.array([index.get(lab, -1) for lab in test[1]], dtype=np.int64)
    m = head_metrics(y, proba, classes)
    return {
        **m,
        "fit_s": fit_s,
        "predict_s": predict_s,
        "n_train": len(train[0]),
        "classes": len(classes),
    }


def run(args: argparse.Namespace) -> int:
    cols = [c.strip() for c in args.text_cols.split(",") if c.strip()]
    if not cols:
        raise BadInput("--text-cols names no column.")
    data = read_labelled([existing_file(args.train)], heads=[args.target], text_cols=cols)
    labelled = np.array([i for i, lab in enumerate(data.labels[args.target]) if lab])
    if args.test:
        test = read_labelled([existing_file(args.test)], heads=[args.target], text_cols=cols)
        test_rows = np.array([i for i, lab in enumerate(test.labels[args.target]) if lab])
        say(f"Training on {len(labelled)} rows, testing on {len(test_rows)}.")
        runs = [
            _measure(
                _subset(data, labelled, args.target),
                _subset(test, test_rows, args.target),
                args.target,
            )
        ]
    else:
        if args.folds is None or args.folds < 2:
            raise BadInput("--folds must be at least 2.")
        y = np.array([data.labels[args.target][i] for i in labelled])
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The least populated class")
            splits = list(StratifiedKFold(args.folds, shuffle=True, random_state=0).split(labelled, y))
        runs = []
        for k, (tr, te) in enumerate(splits, start=1):
            say(f"Fold {k}/{args.folds}: training on {len(tr)} rows.")
            runs.append(
                _measure(
                    _subset(data, labelled[tr], args.target),
                    _subset(data, labelled[te], args.target),
                    args.target,
                )
            )
    n_test = sum(r["n"] for r in runs)
    summary = {
        "accuracy": float(np.average([r["accuracy"] for r in runs], weights=[r["n"] for r in runs])),
        "macro_f1": float(np.mean([r["macro_f1"] for r in runs])),
        "top3": float(np.average([r["top3"] for r in runs], weights=[r["n"] for r in runs])),
        "n_train": int(np.mean([r["n_train"] for r in runs])),
        "n_test": n_test,
        "classes": int(max(r["classes"] for r in runs)),
        "fit_s": round(float(np.mean([r["fit_s"] for r in runs])), 2),
        "predict_texts_per_s": round(n_test / sum(r["predict_s"] for r in runs), 1),
        "unseen_labels": sum(r["unseen_labels"] for r in runs),
    }
    print(json.dumps(summary, ensure_ascii=False))
    return 0
