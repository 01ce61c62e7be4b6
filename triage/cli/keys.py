"""triage keys create|list|revoke: API keys for intake front ends and staff."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction, name: str) -> None:
    p = sub.add_parser(name, help="manage API keys")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create a key and print it once")
    create.add_argument("--role", required=True, choices=["intake", "reviewer", "department", "admin"])
    create.add_argument("--department", help="department id (department keys only)")
    create.add_argument("--name", default="", help="who or what uses the key")
    actions.add_parser("list", help="list keys (never the secrets)")
    revoke = actions.add_parser("revoke", help="revoke a key by its prefix")
    revoke.add_argument("prefix")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from triage.cli.common import database_session, say
    from triage.engine.data import load_taxonomy
    from triage.errors import BadInput
    from triage.service.keys import create_key, list_keys, revoke_key
    from triage.settings import load_settings

    conf = load_settings()
    with database_session(conf) as session:
        if args.action == "create":
            if args.department:
                from pathlib import Path

                known = load_taxonomy(Path(conf.data_dir) / "taxonomy.json").labels("department")
                if args.department not in known:
                    raise BadInput(f"Unknown department {args.department!r}; known: {', '.join(known)}.")
            row, secret = create_key(session, args.role, args.name or args.role, args.department)
            print(secret)
            say(f"Created {row.role} key {row.prefix} ({row.name}); it is not shown again.")
        elif args.action == "list":
            for row in list_keys(session):
                state = f"revoked {row.revoked_at:%Y-%m-%d}" if row.revoked_at else "active"
                print(
                    f"{row.prefix}  {row.role:<10} {row.department or '-':<24} {row.name:<20} "
                    f"{row.created_at:%Y-%m-%d}  {state}"
                )
        else:
            row = revoke_key(session, args.prefix)
            print(f"Revoked {row.prefix} ({row.name}).")
    return 0
