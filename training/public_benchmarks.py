"""The public benchmarks' development protocol, the project beside the ten-line baseline
and fastText (when `pip install fasttext-wheel` worked), measured in the same run.

TipDM: stratified 5-fold CV of train.csv (category). Haikou: trained Dec 2017 - Mar 2018,
tested on April 2018 (department, set "haikou"), and trained Dec - Feb, tested on March
("haikou-march"): both measure drift. Read in place from the shared benchmarks folder (found
above the checkout); the Haikou splits are written to a temporary folder only.

    .venv/bin/python training/public_benchmarks.py [--sets tipdm,haikou,haikou-march]
        [--folds 5] [--skip-baseline]
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import LinearSVC

from triage.cli import main as triage

ROOT = Path(__file__).resolve().parent.parent
# ../shared/benchmarks beside the main checkout; a worktree sits one level deeper.
BENCH = next(
    (p / "shared" / "benchmarks" for p in ROOT.parents if (p / "shared" / "benchmarks").is_dir()),
    ROOT.parent / "shared" / "benchmarks",
)
TIPDM = BENCH / "tipdm2020c" / "train.csv"
HAIKOU = BENCH / "haikou12345" / "train.csv"


def rows_of(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def haikou_split(folder: Path, test_month: str = "201804") -> tuple[Path, Path]:
    """Train on the months before ``test_month``, test on it."""
    rows = rows_of(HAIKOU)
    out = []
    for name, keep in (
        ("train", lambda r: r["month"] < test_month),
        ("test", lambda r: r["month"] == test_month),
    ):
        path = folder / f"haikou_{test_month}_{name}.csv"
        with open(path, "w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(r for r in rows if keep(r))
        out.append(path)
    return out[0], out[1]


def project(argv: list[str]) -> dict[str, float]:
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = triage(["benchmark", *argv])
    if code:
        raise SystemExit(f"triage benchmark failed with exit code {code}")
    return json.loads(buffer.getvalue().strip().splitlines()[-1])


def baseline(train: list[dict], test: list[dict], target: str) -> dict[str, float]:
    """The ten-line jieba TF-IDF (uni+bigram) + LinearSVC a user would otherwise write."""
    import jieba

    def doc(r: dict) -> str:
        return " ".join(jieba.lcut((r.get("title") or "") + r["text"]))

    t = time.perf_counter()
    vec = TfidfVectorizer(token_pattern=r"(?u)\S+", ngram_range=(1, 2), sublinear_tf=True)
    clf = LinearSVC().fit(vec.fit_transform([doc(r) for r in train]), [r[target] for r in train])
    fit_s = time.perf_counter() - t
    scores = clf.decision_function(vec.transform([doc(r) for r in test]))
    y = np.array([r[target] for r in test])
    pred = clf.classes_[scores.argmax(1)]
    top3 = clf.classes_[np.argsort(-scores, 1)[:, :3]]
    from sklearn.metrics import f1_score

    return {
        "accuracy": float((pred == y).mean()),
        "macro_f1": float(f1_score(y, pred, average="macro", labels=np.union1d(y, pred))),
        "top3": float(np.mean([y[i] in top3[i] for i in range(len(y))])),
        "fit_s": fit_s,
    }


def fasttext_run(train: list[dict], test: list[dict], target: str) -> dict[str, float] | None:
    """fastText as the benchmarks README's peer: character input, wordNgrams=2 (25 epochs,
    lr 0.5). None when fasttext is not installed (`pip install fasttext-wheel`)."""
    try:
        import fasttext
    except ImportError:
        return None

    def doc(r: dict) -> str:
        return " ".join(ch for ch in (r.get("title") or "") + r["text"] if not ch.isspace())

    with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".txt") as fh:
        for r in train:
            fh.write(f"__label__{r[target].replace(' ', '_')} {doc(r)}\n")
        fh.flush()
        t = time.perf_counter()
        model = fasttext.train_supervised(fh.name, wordNgrams=2, epoch=25, lr=0.5, thread=2, verbose=0)
        fit_s = time.perf_counter() - t
    y = np.array([r[target].replace(" ", "_") for r in test])
    # model.f.predict: fasttext-wheel 0.9.2's predict() breaks on numpy 2 (copy=False).
    top = [[label[9:] for _, label in model.f.predict(doc(r), 3, 0.0, "strict")] for r in test]
    pred = np.array([t[0] for t in top])
    from sklearn.metrics import f1_score

    return {
        "accuracy": float((pred == y).mean()),
        "macro_f1": float(f1_score(y, pred, average="macro", labels=np.union1d(y, pred))),
        "top3": float(np.mean([y[i] in top[i] for i in range(len(y))])),
        "fit_s": fit_s,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="tipdm,haikou,haikou-march")
    parser.add_argument("--folds", type=int, default=5, help="TipDM's cross-validation folds")
    parser.add_argument("--skip-baseline", action="store_true")
    args = parser.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.sets.split(","):
            if name == "tipdm":
                ours = project(["--train", str(TIPDM), "--folds", str(args.folds), "--target", "label"])
                results.append(("tipdm", "triage", ours))
                if not args.skip_baseline:
                    rows = rows_of(TIPDM)
                    y = [r["label"] for r in rows]
                    runs = [
                        baseline([rows[i] for i in tr], [rows[i] for i in te], "label")
                        for tr, te in StratifiedKFold(args.folds, shuffle=True, random_state=0).split(rows, y)
                    ]
                    results.append(
                        (
                            "tipdm",
                            "baseline",
                            {k: float(np.mean([r[k] for r in runs])) for k in runs[0]},
                        )
                    )
                    folds = StratifiedKFold(args.folds, shuffle=True, random_state=0).split(rows, y)
                    ft = [fasttext_run([rows[i] for i in a], [rows[i] for i in b], "label") for a, b in folds]
                    if ft[0] is not None:
                        mean = {k: float(np.mean([r[k] for r in ft])) for k in ft[0]}
                        results.append(("tipdm", "fasttext", mean))
            else:
                train, test = haikou_split(Path(tmp), "201803" if name == "haikou-march" else "201804")
                ours = project(["--train", str(train), "--test", str(test), "--target", "department"])
                results.append((name, "triage", ours))
                if not args.skip_baseline:
                    results.append(
                        (
                            name,
                            "baseline",
                            baseline(rows_of(train), rows_of(test), "department"),
                        )
                    )
                    ft = fasttext_run(rows_of(train), rows_of(test), "department")
                    if ft is not None:
                        results.append((name, "fasttext", ft))
    print("| set | model | accuracy | macro-F1 | top-3 | fit s | auto-routed (precision) |")
    print("|---|---|---|---|---|---|---|")
    for name, model, r in results:
        figures = " | ".join(f"{r[k]:.4f}" for k in ("accuracy", "macro_f1", "top3"))
        auto = f"{r['auto_share']:.3f} ({r['auto_precision']:.3f})" if "auto_share" in r else "n/a"
        print(f"| {name} | {model} | {figures} | {r['fit_s']:.1f} | {auto} |")
    print(json.dumps([{"set": n, "model": m, **r} for n, m, r in results]))


if __name__ == "__main__":
    main()
