"""triage retrain: base data plus verified corrections -> a new version, through the gate."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction, name: str) -> None:
    p = sub.add_parser(name, help="retrain with verified corrections and promote if not worse")
    p.add_argument("--force", action="store_true", help="promote even if the gate refuses (recorded)")
    p.add_argument("--no-promote", action="store_true", help="train and gate, but leave the active model")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import getpass

    from triage.cli.common import database_session, say, settings
    from triage.service.retrain import gate, promote, retrain

    conf = settings()
    with database_session(conf) as session:
        model, folder = retrain(conf, session, say)
        say(f"Candidate {model.version_} written to {folder}.")
        if args.no_promote:
            say(gate(conf, session, model).table())
            return 0
        actor = f"{getpass.getuser()} (retrain)"
        if promote(conf, session, model.version_, actor, say, force=args.force):
            say(f"{model.version_} is now the active model.")
            print(model.version_)
            return 0
        say(f"Not promoted; {model.version_} stays on disk (`triage models promote ... --force` overrides).")
        return 1
