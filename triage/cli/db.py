"""triage db upgrade|current: database migrations."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction, name: str) -> None:
    p = sub.add_parser(name, help="database migrations")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("upgrade", help="apply migrations (keeps existing data)")
    actions.add_parser("current", help="print the database's migration revision")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from triage.settings import load_settings
    from triage.storage.db import current_revision, database_url, upgrade

    url = database_url(load_settings())
    if args.action == "upgrade":
        upgrade(url)
    print(current_revision(url) or "empty")
    return 0
