"""triage keys create|list|revoke: API keys for intake front ends and staff."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from triage.cli.parsing import actions, add_json, command, print_rows


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str) -> None:
    p = command(
        sub,
        name,
        help="manage API keys",
        examples=["triage keys create --role intake --name web-form", "triage keys list --json"],
    )
    each = actions(p)
    create = command(
        each,
        "create",
        help="create a key and print it once",
        description="Create a key and print its secret once on stdout (only its hash is stored).",
        examples=[
            "triage keys create --role intake --name web-form",
            "triage keys create --role department --department housing_bureau --name housing",
        ],
    )
    create.add_argument(
        "--role",
        required=True,
        choices=["intake", "reviewer", "department", "admin"],
        help="what the key may do",
    )
    create.add_argument("--department", help="department id (department keys only)")
    create.add_argument("--name", default="", help="who or what uses the key; when left out: the role")
    listing = command(
        each,
        "list",
        help="list keys (never the secrets)",
        examples=["triage keys list", "triage keys list --json"],
    )
    add_json(listing)
    revoke = command(
        each, "revoke", help="revoke a key by its prefix", examples=["triage keys revoke tk_3f9a"]
    )
    revoke.add_argument("prefix", help="the key's prefix, as `triage keys list` shows it")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from triage.cli.common import database_session, say
    from triage.engine.heads import DEPARTMENT
    from triage.errors import BadInput
    from triage.service.keys import create_key, list_keys, revoke_key
    from triage.settings import load_settings

    conf = load_settings()
    with database_session(conf) as session:
        if args.action == "create":
            if args.department or args.role == "department":
                from triage.service.registry import active_heads

                heads = active_heads(conf, session)
                heads.require(DEPARTMENT, "A department key")
                known = heads.labels[DEPARTMENT]
                if args.department and args.department not in known:
                    raise BadInput(
                        f"Unknown department {args.department!r}: the active model's departments are "
                        f"{', '.join(known)}."
                    )
            row, secret = create_key(session, args.role, args.name or args.role, args.department)
            print(secret)
            say(f"Created {row.role} key {row.prefix} ({row.name}); it is not shown again.")
        elif args.action == "list":
            rows = [
                {
                    "prefix": row.prefix,
                    "role": row.role,
                    "department": row.department,
                    "name": row.name,
                    "created_at": row.created_at.isoformat(),
                    "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None,
                }
                for row in list_keys(session)
            ]
            print_rows(rows, args.json, _line)
        else:
            row = revoke_key(session, args.prefix)
            print(f"Revoked {row.prefix} ({row.name}).")
    return 0


def _line(row: Mapping[str, Any]) -> str:
    state = f"revoked {row['revoked_at'][:10]}" if row["revoked_at"] else "active"
    return (
        f"{row['prefix']}  {row['role']:<10} {row['department'] or '-':<24} {row['name']:<20} "
        f"{row['created_at'][:10]}  {state}"
    )
