"""triage db upgrade|current: database migrations."""

from __future__ import annotations

import argparse

from triage.cli.parsing import actions, command


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str) -> None:
    p = command(sub, name, help="database migrations", examples=["triage db upgrade", "triage db current"])
    each = actions(p)
    command(each, "upgrade", help="apply migrations (keeps existing data)", examples=["triage db upgrade"])
    command(
        each,
        "current",
        help="print the database's migration revision",
        examples=["TRIAGE_DATABASE_URL=postgresql+psycopg://triage@db/triage triage db current"],
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from triage.settings import load_settings
    from triage.storage.db import current_revision, database_url, upgrade

    url = database_url(load_settings())
    if args.action == "upgrade":
        upgrade(url)
    print(current_revision(url) or "empty")
    return 0
