"""triage stats rebuild-rollups | fill-words: statistics upkeep (the daily rollups, the
words hotspots read)."""

from __future__ import annotations

import argparse

from triage.cli.parsing import actions, command


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str) -> None:
    examples = ["triage stats rebuild-rollups", "triage stats fill-words"]
    p = command(sub, name, help="statistics upkeep", examples=examples)
    each = actions(p)
    command(
        each,
        "rebuild-rollups",
        help="recount the daily rollups from the tickets (after writing tickets outside the service)",
        examples=["TRIAGE_DATABASE_URL=postgresql+psycopg://triage@db/triage triage stats rebuild-rollups"],
    )
    command(
        each,
        "fill-words",
        help="store the words hotspots read for every ticket that has none (tickets stored before "
        "migration 0009), newest first; safe to stop and run again while the service runs",
        examples=["TRIAGE_DATABASE_URL=postgresql+psycopg://triage@db/triage triage stats fill-words"],
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import time
    from pathlib import Path

    from triage.settings import load_settings
    from triage.storage.db import database_url, migrated_session

    started = time.perf_counter()
    conf = load_settings()
    url = database_url(conf)
    if args.action == "fill-words":
        from triage.cli.progress import progress_bars
        from triage.service.words import Words, fill
        from triage.storage.db import make_engine, upgrade

        upgrade(url)
        engine = make_engine(url)
        try:
            with progress_bars() as progress:
                done = fill(engine, Words.load(Path(conf.data_dir)), progress=progress)
        finally:
            engine.dispose()
        print(f"words stored for {done} tickets, {time.perf_counter() - started:.1f} s")
        return 0
    from triage.service.rollups import rebuild

    with migrated_session(url) as session:
        rebuilt = rebuild(session)
    print(
        f"rollups rebuilt: {rebuilt['tickets']} tickets, {rebuilt['rows']} rows, "
        f"{time.perf_counter() - started:.1f} s"
    )
    return 0
