"""triage models list|show|promote|rollback: the model registry."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction, name: str) -> None:
    p = sub.add_parser(name, help="list, inspect, promote and roll back model versions")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("list", help="versions on disk, the active one marked")
    show = actions.add_parser("show", help="print a version's card")
    show.add_argument("version", nargs="?", help="default: the active version")
    promote = actions.add_parser("promote", help="make a version active if the gate passes")
    promote.add_argument("version")
    promote.add_argument("--force", action="store_true", help="promote even if the gate refuses")
    actions.add_parser("rollback", help="make the previously active version active again")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import getpass
    import json
    from pathlib import Path

    from triage.cli.common import database_session, say, settings
    from triage.engine.persist import read_card
    from triage.errors import BadInput
    from triage.service import registry
    from triage.service.retrain import promote

    conf = settings()
    models_dir = Path(conf.models_dir)
    actor = getpass.getuser()
    with database_session(conf) as session:
        active = registry.active_version(session) or registry.latest_version(models_dir)
        if args.action == "list":
            for version in registry.list_versions(models_dir):
                card = read_card(models_dir / version)
                f1 = " ".join(
                    f"{h}={info['metrics']['macro_f1']:.3f}" for h, info in card.get("heads", {}).items()
                )
                mark = "*" if version == active else " "
                learned = card.get("corrections_learned", 0)
                print(f"{mark} {version}  n={card.get('n_train')}  corrections={learned}  cv macro-F1 {f1}")
            return 0
        if args.action == "show":
            version = args.version or active
            if not version:
                raise BadInput("There is no model yet; run `triage train`.")
            card = read_card(registry.version_dir(models_dir, version))
            print(json.dumps(card, ensure_ascii=False, indent=2))
            return 0
        if args.action == "promote":
            if promote(conf, session, args.version, actor, say, force=args.force):
                say(f"{args.version} is now the active model.")
                return 0
            say(f"Not promoted: the gate refused {args.version} (use --force to override).")
            return 1
        target = registry.rollback_target(session)
        promote(conf, session, target, actor, say, action="rollback")
        say(f"Rolled back: {target} is the active model again.")
        return 0
