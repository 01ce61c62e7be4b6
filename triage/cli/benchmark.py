"""triage benchmark: train one head with the production pipeline on a CSV and measure it.

The last line of stdout is one JSON object (a contract used by evaluation scripts).
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from triage.cli.dataopts import add_data_options
from triage.cli.parsing import command

if TYPE_CHECKING:
    from triage.engine.progress import Progress


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str) -> None:
    p = command(
        sub,
        name,
        help="train and measure one head on a labelled CSV",
        description="Train only one head with the production pipeline and measure it; the last line "
        "of stdout is one JSON object.",
        examples=[
            "triage benchmark --train train.csv --test test.csv --target category",
            "triage benchmark --train all.csv --folds 5 --target label --text-cols text",
            "triage benchmark --train 工单.xlsx --folds 3 --target 承办单位 --text 诉求内容",
        ],
    )
    p.add_argument("--train", required=True, metavar="FILE", help="labelled CSV or .xlsx to train on")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--test", metavar="FILE", help="held-out test file")
    group.add_argument("--folds", type=int, metavar="K", help="stratified K-fold on --train instead")
    p.add_argument("--target", required=True, metavar="COLUMN", help="label column to predict")
    p.add_argument(
        "--text-cols",
        default="title,text",
        metavar="COLS",
        help="text columns, comma-separated, the last one the body (--text and --title override)",
    )
    add_data_options(p, data=None, heads=False, ids=False)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from triage.cli.progress import progress_bars

    cols = [c.strip() for c in args.text_cols.split(",") if c.strip()]
    with progress_bars() as progress:
        summary = _run(args, cols, progress)
    print(json.dumps(summary, ensure_ascii=False))
    return 0


def _run(args: argparse.Namespace, cols: list[str], progress: Progress) -> dict[str, Any]:
    from triage.cli.common import existing_file, say, settings
    from triage.cli.dataopts import data_spec
    from triage.engine.benchmarking import benchmark

    return benchmark(
        settings(),
        existing_file(args.train),
        args.target,
        cols,
        test=existing_file(args.test) if args.test else None,
        folds=args.folds,
        say=say,
        progress=progress,
        spec=data_spec(args),
    )
