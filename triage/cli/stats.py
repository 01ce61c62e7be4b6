"""triage stats rebuild-rollups: recount the daily rollups from the tickets."""

from __future__ import annotations

import argparse

from triage.cli.parsing import actions, command


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str) -> None:
    p = command(sub, name, help="statistics upkeep", examples=["triage stats rebuild-rollups"])
    each = actions(p)
    command(
        each,
        "rebuild-rollups",
        help="recount the daily rollups from the tickets (after writing tickets outside the service)",
        examples=["TRIAGE_DATABASE_URL=postgresql+psycopg://triage@db/triage triage stats rebuild-rollups"],
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import time

    from triage.service.rollups import rebuild
    from triage.settings import load_settings
    from triage.storage.db import database_url, migrated_session

    started = time.perf_counter()
    with migrated_session(database_url(load_settings())) as session:
        done = rebuild(session)
    print(
        f"rollups rebuilt: {done['tickets']} tickets, {done['rows']} rows, "
        f"{time.perf_counter() - started:.1f} s"
    )
    return 0
