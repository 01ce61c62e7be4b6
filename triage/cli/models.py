"""triage models list|show|promote|rollback: the model registry."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from triage.cli.dataopts import add_data_options
from triage.cli.parsing import actions, add_json, command, print_rows


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str) -> None:
    p = command(
        sub,
        name,
        help="list, inspect, promote and roll back model versions",
        examples=["triage models list", "triage models promote 20260101-120000"],
    )
    each = actions(p)
    listing = command(
        each,
        "list",
        help="versions on disk, the active one marked",
        examples=["triage models list", "triage models list --json"],
    )
    add_json(listing)
    show = command(
        each, "show", help="print a version's card", examples=["triage models show 20260101-120000"]
    )
    show.add_argument("version", nargs="?", help="the version to show; when left out: the active version")
    promote = command(
        each,
        "promote",
        help="make a version active if the gate passes",
        description="Compare a version with the active model on the held-out data and make it active "
        "when it is not worse; exits 4 when the gate refuses it.",
        examples=["triage models promote 20260101-120000", "triage models promote 20260101-120000 --force"],
    )
    promote.add_argument("version", help="the version (a folder name under the models folder)")
    promote.add_argument("--force", action="store_true", help="promote even if the gate refuses (recorded)")
    add_data_options(
        promote,
        data="a centre's labelled files the models were trained on, whose held-out tenth the gate "
        "compares them on; when left out: the bundled data/messages/*.csv",
    )
    command(
        each,
        "rollback",
        help="make the previously active version active again",
        examples=["triage models rollback"],
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import getpass
    import json
    from pathlib import Path

    from triage.cli.common import database_session, say, settings
    from triage.cli.dataopts import data_paths, data_spec
    from triage.engine.data import read_labelled
    from triage.engine.persist import read_card
    from triage.errors import BadInput, GateRefused
    from triage.service import registry
    from triage.service.retrain import promote

    conf = settings()
    models_dir = Path(conf.models_dir)
    actor = getpass.getuser()
    with database_session(conf) as session:
        active = registry.active_version(session) or registry.latest_version(models_dir)
        if args.action == "list":
            rows = []
            for version in registry.list_versions(models_dir):
                card = read_card(models_dir / version)
                rows.append(
                    {
                        "version": version,
                        "active": version == active,
                        "n_train": card.get("n_train"),
                        "corrections_learned": card.get("corrections_learned", 0),
                        "cv_macro_f1": {
                            h: info["metrics"]["macro_f1"] for h, info in card.get("heads", {}).items()
                        },
                    }
                )
            print_rows(rows, args.json, _line)
            return 0
        if args.action == "show":
            shown = args.version or active
            if not shown:
                raise BadInput("There is no model yet; run `triage train`.")
            card = read_card(registry.version_dir(models_dir, shown))
            print(json.dumps(card, ensure_ascii=False, indent=2))
            return 0
        if args.action == "promote":
            base = None
            if (paths := data_paths(args)) is not None:
                base = read_labelled(paths, spec=data_spec(args))
            if promote(conf, session, args.version, actor, say, force=args.force, base=base):
                say(f"{args.version} is now the active model.")
                return 0
            raise GateRefused(f"Not promoted: the gate refused {args.version} (use --force to override).")
        target = registry.rollback_target(session)
        promote(conf, session, target, actor, say, action="rollback")
        say(f"Rolled back: {target} is the active model again.")
        return 0


def _line(row: Mapping[str, Any]) -> str:
    f1 = " ".join(f"{h}={v:.3f}" for h, v in row["cv_macro_f1"].items())
    mark = "*" if row["active"] else " "
    return (
        f"{mark} {row['version']}  n={row['n_train']}  corrections={row['corrections_learned']}  "
        f"cv macro-F1 {f1}"
    )
