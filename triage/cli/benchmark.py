"""triage benchmark: train one head with the production pipeline on a CSV and measure it.

The last line of stdout is one JSON object (a contract used by evaluation scripts).
"""

from __future__ import annotations

import argparse
import json


def add_parser(sub: argparse._SubParsersAction, name: str) -> None:
    p = sub.add_parser(name, help="train and measure one head on a labelled CSV")
    p.add_argument("--train", required=True, metavar="CSV")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--test", metavar="CSV", help="held-out test file")
    group.add_argument("--folds", type=int, metavar="K", help="stratified K-fold on --train instead")
    p.add_argument("--target", required=True, metavar="COLUMN", help="label column to predict")
    p.add_argument(
        "--text-cols",
        default="title,text",
        metavar="COLS",
        help="text columns, last one the body (default: title,text)",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from triage.cli.common import existing_file, say, settings
    from triage.engine.benchmarking import benchmark

    cols = [c.strip() for c in args.text_cols.split(",") if c.strip()]
    summary = benchmark(
        settings(),
        existing_file(args.train),
        args.target,
        cols,
        test=existing_file(args.test) if args.test else None,
        folds=args.folds,
        say=say,
    )
    print(json.dumps(summary, ensure_ascii=False))
    return 0
