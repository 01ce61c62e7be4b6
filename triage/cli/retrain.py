"""triage retrain: base data plus verified corrections -> a new version, through the gate."""

from __future__ import annotations

import argparse

from triage.cli.dataopts import add_data_options
from triage.cli.parsing import command


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str) -> None:
    p = command(
        sub,
        name,
        help="retrain with verified corrections and promote if not worse",
        description="Train a new version with the active model's heads on the project's data (or a "
        "centre's own --data files) plus every verified correction, compare it with the active "
        "model on the held-out tenth of that data and the latest corrections (the gate), and make "
        "it active when it is not worse. Exits 4 when the gate refuses it.",
        examples=[
            "triage retrain",
            "triage retrain --no-promote",
            "triage retrain --data 工单.xlsx --text 诉求内容 --head department=承办单位",
        ],
    )
    add_data_options(
        p,
        data="the labelled files the active model was trained on (CSV or .xlsx); when left out: the "
        "bundled data/messages/*.csv",
    )
    p.add_argument("--force", action="store_true", help="promote even if the gate refuses (recorded)")
    p.add_argument("--no-promote", action="store_true", help="train and gate, but leave the active model")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import getpass

    from triage.cli.common import database_session, say, settings
    from triage.cli.dataopts import data_paths, data_spec
    from triage.cli.progress import progress_bars
    from triage.engine.data import read_labelled
    from triage.errors import GateRefused
    from triage.service.retrain import gate, promote, retrain

    conf = settings()
    paths = data_paths(args)
    base = None
    if paths is not None:
        base = read_labelled(paths, spec=data_spec(args))
        for sentence in base.report.sentences():
            say(sentence)
    with database_session(conf) as session:
        with progress_bars() as progress:
            model, folder = retrain(conf, session, say, progress, base)
        say(f"Candidate {model.version_} written to {folder}.")
        if args.no_promote:
            say(gate(conf, session, model.serving_, base).table())
            return 0
        actor = f"{getpass.getuser()} (retrain)"
        if promote(conf, session, model.version_, actor, say, force=args.force, base=base):
            say(f"{model.version_} is now the active model.")
            print(model.version_)
            return 0
        raise GateRefused(
            f"Not promoted: {model.version_} stays on disk (`triage models promote ... --force` overrides)."
        )
