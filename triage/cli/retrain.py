"""triage retrain: base data plus verified corrections -> a new version, through the gate."""

from __future__ import annotations

import argparse

from triage.cli.parsing import command


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str) -> None:
    p = command(
        sub,
        name,
        help="retrain with verified corrections and promote if not worse",
        description="Train a new version on the project's data plus every verified correction, "
        "compare it with the active model on the held-out data (the gate), and make it active "
        "when it is not worse. Exits 4 when the gate refuses it.",
        examples=["triage retrain", "triage retrain --no-promote"],
    )
    p.add_argument("--force", action="store_true", help="promote even if the gate refuses (recorded)")
    p.add_argument("--no-promote", action="store_true", help="train and gate, but leave the active model")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import getpass

    from triage.cli.common import database_session, say, settings
    from triage.cli.progress import progress_bars
    from triage.errors import GateRefused
    from triage.service.retrain import gate, promote, retrain

    conf = settings()
    with database_session(conf) as session:
        with progress_bars() as progress:
            model, folder = retrain(conf, session, say, progress)
        say(f"Candidate {model.version_} written to {folder}.")
        if args.no_promote:
            say(gate(conf, session, model.serving_).table())
            return 0
        actor = f"{getpass.getuser()} (retrain)"
        if promote(conf, session, model.version_, actor, say, force=args.force):
            say(f"{model.version_} is now the active model.")
            print(model.version_)
            return 0
        raise GateRefused(
            f"Not promoted: {model.version_} stays on disk (`triage models promote ... --force` overrides)."
        )
