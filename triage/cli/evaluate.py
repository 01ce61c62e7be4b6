"""triage evaluate: a model's figures on a labelled CSV, optionally as a report folder."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from triage.cli.dataopts import add_data_options
from triage.cli.parsing import command
from triage.engine.progress import Progress, quiet
from triage.errors import BadInput

CHUNK = 512  # texts per prediction call: big enough to be fast, small enough to show progress

if TYPE_CHECKING:
    from triage.engine.data import DataSpec
    from triage.engine.scoring import ServingModel


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str) -> None:
    p = command(
        sub,
        name,
        help="measure a model on labelled data",
        description="Accuracy, macro-F1, top-3 and per-label figures of a model on labelled files "
        "(CSV or .xlsx, read with the same column options as `triage train`).",
        examples=[
            "triage evaluate --model models/20260101-120000 --data data/eval/*.csv",
            "triage evaluate --model models/20260101-120000 --data held.csv --report /tmp/report --json",
        ],
    )
    p.add_argument("--model", required=True, metavar="DIR", help="model folder")
    add_data_options(p, required=True, ids=False, rare=False)
    p.add_argument("--report", type=Path, metavar="DIR", help="also write report.md and confusion PNGs")
    p.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    p.set_defaults(run=run)


def evaluate(
    model: ServingModel, paths: list[Path], progress: Progress = quiet, spec: DataSpec | None = None
) -> dict[str, Any]:
    import numpy as np

    from triage.engine.data import read_labelled
    from triage.engine.metrics import head_metrics

    data = read_labelled(paths, require_heads=False, spec=spec)
    heads = [h for h in model.heads if h in data.labels]
    if not heads:
        raise BadInput(f"The data has none of the model's heads ({', '.join(model.heads)}).")
    parts = []
    for start in range(0, len(data.items), CHUNK):
        parts.append(model.predict_proba(data.items[start : start + CHUNK]))
        progress("predicting", min(start + CHUNK, len(data.items)), len(data.items))
    proba = {h: np.concatenate([p[h] for p in parts]) for h in heads}
    results: dict[str, Any] = {}
    for head in heads:
        classes = model.heads_[head].classes
        rows = [i for i, lab in enumerate(data.labels[head]) if lab]
        index = {str(c): i for i, c in enumerate(classes)}
        y = np.array([index.get(data.labels[head][i], -1) for i in rows], dtype=np.int64)
        results[head] = head_metrics(y, proba[head][rows], classes, confusion=True)
        results[head]["classes"] = [str(c) for c in classes]
    return results


def _table(head: str, m: dict[str, Any]) -> str:
    lines = [
        f"## {head}: accuracy {m['accuracy']:.3f}, macro-F1 {m['macro_f1']:.3f}, "
        f"top-3 {m['top3']:.3f} (n={m['n']}, unseen labels {m['unseen_labels']})",
        "",
        "| label | precision | recall | F1 | support |",
        "|---|---|---|---|---|",
    ]
    for label, c in m["per_class"].items():
        lines.append(
            f"| {label} | {c['precision']:.3f} | {c['recall']:.3f} | {c['f1']:.3f} | {c['support']} |"
        )
    return "\n".join(lines)


def _confusion_png(head: str, m: dict[str, Any], path: Path) -> None:
    import matplotlib
    import numpy as np

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cm = np.array(m["confusion"])
    n = len(m["classes"])
    fig, ax = plt.subplots(figsize=(2 + 0.5 * n, 1.5 + 0.5 * n), dpi=100)
    ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(n), m["classes"], rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(n), m["classes"], fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"{head}: confusion matrix")
    if n <= 30:
        for i in range(n):
            for j in range(n):
                if cm[i, j]:
                    ax.text(
                        j,
                        i,
                        str(int(cm[i, j])),
                        ha="center",
                        va="center",
                        fontsize=7,
                        color="white" if cm[i, j] > cm.max() / 2 else "black",
                    )
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def run(args: argparse.Namespace) -> int:
    from triage.cli.dataopts import data_paths, data_spec
    from triage.cli.progress import progress_bars
    from triage.engine.persist import load_model

    if args.report:
        from triage.service.report import require_matplotlib

        require_matplotlib()
    model = load_model(Path(args.model))
    paths, spec = data_paths(args) or [], data_spec(args)
    with progress_bars() as progress:
        results = evaluate(model, paths, progress, spec)
    if args.json:
        print(json.dumps(results, ensure_ascii=False))
    else:
        print("\n\n".join(_table(h, m) for h, m in results.items()))
    if args.report:
        args.report.mkdir(parents=True, exist_ok=True)
        parts = [
            f"# Evaluation of model {model.version_}",
            "",
            f"Data: {', '.join(map(str, paths))}",
            "",
        ]
        for head, m in results.items():
            png = f"confusion_{head}.png"
            _confusion_png(head, m, args.report / png)
            parts += [_table(head, m), "", f"![{head} confusion matrix]({png})", ""]
        (args.report / "report.md").write_text("\n".join(parts), encoding="utf-8")
        (args.report / "metrics.json").write_text(json.dumps(results, ensure_ascii=False, indent=1))
        print(f"Report written to {args.report / 'report.md'}")
    return 0
