"""Real messages outside the centre's matters: how many does the default model route with
confidence to a centre matter?

TipDM's citizen messages labelled 交通运输 (roads, buses), 教育文体 (schools) and 环境保护
(pollution) are about none of the default taxonomy's matters. Each goes through the default
model (trained on data/, or ``--model``); "confidently routed" means its category is not
``other``, its department is not the fallback office, and the ticket is not flagged for
review. The lower the better: such messages belong to ``other`` / the fallback office or to
a person.

    .venv/bin/python -m benchmarks.out_of_scope [--model models/<version>] [--limit N]
"""

from __future__ import annotations

import argparse
import csv
import tempfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = next(
    (p / "shared" / "benchmarks" for p in ROOT.parents if (p / "shared" / "benchmarks").is_dir()),
    ROOT.parent / "shared" / "benchmarks",
)
TIPDM = BENCH / "tipdm2020c" / "train.csv"
OUTSIDE = {"交通运输": "roads and transport", "教育文体": "schools", "环境保护": "pollution"}


def confidently_routed(prediction: dict[str, Any], fallback: str | None) -> bool:
    return (
        not prediction["needs_review"]
        and prediction["category"]["label"] != "other"
        and prediction["department"]["label"] != fallback
    )


def measure(model: Any, rows: Sequence[dict[str, str]], fallback: str | None) -> dict[str, Any]:
    """Per TipDM label: how many, the share confidently routed, and where those went."""
    out: dict[str, Any] = {}
    for label in OUTSIDE:
        mine = [r for r in rows if r["label"] == label]
        predictions = model.route_many([{"title": r["title"], "text": r["text"]} for r in mine])
        routed = [p for p in predictions if confidently_routed(p, fallback)]
        out[label] = {
            "n": len(mine),
            "confidently_routed": len(routed) / max(1, len(mine)),
            "flagged": sum(p["needs_review"] for p in predictions) / max(1, len(mine)),
            "other": sum(p["category"]["label"] == "other" for p in predictions) / max(1, len(mine)),
            "routed_to": Counter(p["category"]["label"] for p in routed).most_common(4),
        }
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, help="a model folder (default: train one on data/)")
    parser.add_argument("--limit", type=int, default=0, help="at most this many messages per label")
    args = parser.parse_args(argv)
    if not TIPDM.is_file():
        parser.exit(2, f"{TIPDM} is not there: the public benchmarks sit beside the checkout.\n")
    from triage.engine.persist import load_model
    from triage.engine.training import train
    from triage.settings import load_settings

    conf = load_settings()
    with open(TIPDM, encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["label"] in OUTSIDE]
    if args.limit:
        rows = [r for label in OUTSIDE for r in [x for x in rows if x["label"] == label][: args.limit]]
    with tempfile.TemporaryDirectory(prefix="oos-") as tmp:
        folder = args.model
        if folder is None:
            _, folder = train(conf, out=Path(tmp) / "model")
        model = load_model(folder)
        fallback = model.fallback.get("department")
        results = measure(model, rows, fallback)
    total = sum(r["n"] for r in results.values())
    routed = sum(r["n"] * r["confidently_routed"] for r in results.values())
    print("# python -m benchmarks.out_of_scope" + (f" --model {args.model}" if args.model else ""))
    print(f"{'TipDM label':<10}{'n':>6}{'confidently routed':>20}{'flagged':>9}{'other':>7}  routed to")
    for label, r in results.items():
        to = ", ".join(f"{k} {v}" for k, v in r["routed_to"])
        shares = f"{r['confidently_routed']:>20.3f}{r['flagged']:>9.3f}{r['other']:>7.3f}"
        print(f"{label:<10}{r['n']:>6}{shares}  {to}")
    print(f"all {total} messages: {routed / max(1, total):.3f} confidently routed to a centre matter")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
