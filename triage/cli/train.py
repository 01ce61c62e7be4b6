"""triage train: fit the model on labelled CSV files and write a model folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from triage.cli.dataopts import add_data_options
from triage.cli.parsing import command


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str) -> None:
    p = command(
        sub,
        name,
        help="train a model and write its folder",
        description="Train the model on labelled files (CSV in UTF-8, GBK or GB18030, or .xlsx; a text "
        "column and one label column per head) and write a model folder with its card and its "
        "taxonomy.json. A fixed tenth of the rows (by id) is held out for the promotion gate "
        "of `triage retrain`. Without --out the new version is registered, and becomes active if there "
        "was none.",
        examples=[
            "triage train",
            "triage train --data data/messages/*.csv --out /tmp/model",
            "triage train --data 工单.xlsx --text 诉求内容 --head department=承办单位 --fallback 政府办",
        ],
    )
    add_data_options(
        p,
        data="labelled CSV or .xlsx files; when left out: the bundled data/messages/*.csv",
        fallback=True,
    )
    p.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="model folder to write; when left out: a new version under the models folder",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from triage.cli.common import say, settings
    from triage.cli.dataopts import data_paths, data_spec
    from triage.cli.progress import progress_bars
    from triage.engine.training import train

    conf = settings()
    paths, spec = data_paths(args), data_spec(args)
    with progress_bars() as progress:
        model, folder = train(
            conf, paths, args.out, say=say, progress=progress, spec=spec, fallback=args.fallback
        )
    if args.out is None:
        from triage.cli.common import database_session
        from triage.service.registry import ensure_active

        with database_session(conf) as session:
            active = ensure_active(session, Path(conf.models_dir), "train")
        if active != model.version_:
            say(f"The active model stays {active}; `triage models promote {model.version_}` to switch.")
    print(folder)
    for head, info in model.cv_.items():
        m = info["metrics"]
        review = info["review"]
        print(
            f"{head:<12} cv accuracy {m['accuracy']:.3f}  macro-F1 {m['macro_f1']:.3f}  "
            f"top-3 {m['top3']:.3f}  auto-routed {review['coverage']:.0%} at precision "
            f"{review['precision']:.3f}"
        )
    return 0
