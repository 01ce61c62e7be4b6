"""Feature comparison on the public benchmarks, with the production featurizer and
classifier (LinearSVC), to choose the features by measurement.

Protocol (from ../shared/benchmarks/README.md): TipDM stratified 3-fold (5 in the final
benchmark; 3 here to keep the sweep short), Haikou trained on Dec-Mar and tested on April.

    .venv/bin/python training/compare_features.py [--sets tipdm,haikou]
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import LinearSVC

from triage.engine.features import Featurizer
from triage.engine.metrics import head_metrics
from triage.engine.text import prepare

BENCH = Path(__file__).resolve().parent.parent.parent / "shared" / "benchmarks"
CONFIGS = {
    "words 1-2": {"word_ngram": 2, "char_ngram": None},
    "chars 1-3": {"word_ngram": 0, "char_ngram": (1, 3)},
    "words 1-2 + chars 1-3": {"word_ngram": 2, "char_ngram": (1, 3)},
    "words 1-2 + chars 2-4": {"word_ngram": 2, "char_ngram": (2, 4)},
    "words 1 + chars 1-3": {"word_ngram": 1, "char_ngram": (1, 3)},
}
C_VALUES = (0.5, 1.0)


def load(name: str) -> tuple[list[str], np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    path = BENCH / ("tipdm2020c" if name == "tipdm" else "haikou12345") / "train.csv"
    with open(path, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    docs = [prepare(r["text"], r["title"]) for r in rows]
    if name == "tipdm":
        y = np.array([r["label"] for r in rows])
        splits = list(StratifiedKFold(3, shuffle=True, random_state=0).split(docs, y))
    else:
        y = np.array([r["department"] for r in rows])
        month = np.array([r["month"] for r in rows])
        splits = [(np.flatnonzero(month < "201804"), np.flatnonzero(month == "201804"))]
    return docs, y, splits


def score(docs, y, splits, params, C):  # type: ignore[no-untyped-def]
    results = []
    fz0 = Featurizer(**params)
    analyzed = [fz0.analyze(d) for d in docs]
    for train, test in splits:
        fz = Featurizer(**params).fit_analyzed([analyzed[i] for i in train])
        t = time.perf_counter()
        clf = LinearSVC(C=C, max_iter=10000).fit(
            fz.transform_analyzed([analyzed[i] for i in train]), y[train]
        )
        fit_s = time.perf_counter() - t
        scores = clf.decision_function(fz.transform_analyzed([analyzed[i] for i in test]))
        index = {c: i for i, c in enumerate(clf.classes_)}
        yt = np.array([index.get(v, -1) for v in y[test]])
        m = head_metrics(yt, scores, clf.classes_)
        results.append((m["accuracy"], m["macro_f1"], m["top3"], fit_s))
    return np.mean(results, axis=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="tipdm,haikou")
    args = parser.parse_args()
    print("| set | features | C | accuracy | macro-F1 | top-3 | fit s |")
    print("|---|---|---|---|---|---|---|")
    for name in args.sets.split(","):
        docs, y, splits = load(name)
        for label, params in CONFIGS.items():
            for C in C_VALUES:
                acc, f1, top3, fit_s = score(docs, y, splits, params, C)
                print(
                    f"| {name} | {label} | {C} | {acc:.4f} | {f1:.4f} | {top3:.4f} | {fit_s:.1f} |",
                    flush=True,
                )
    print(json.dumps({"done": True}))


if __name__ == "__main__":
    main()
