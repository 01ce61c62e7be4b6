"""triage report: an HTML report of a period, with charts, from the ticket database."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from triage.cli.parsing import command
from triage.errors import BadInput


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str) -> None:
    p = command(
        sub,
        name,
        help="write an HTML report of a period",
        description="Write report.html with PNG charts of a period from the ticket database: volume, "
        "department load and overdue tickets, hotspots, and prediction against reviewers.",
        examples=["triage report --from 2026-11-01 --to 2026-11-30 --out reports/november"],
    )
    p.add_argument("--from", dest="first", required=True, metavar="YYYY-MM-DD", help="first day")
    p.add_argument("--to", dest="last", required=True, metavar="YYYY-MM-DD", help="last day (included)")
    p.add_argument("--out", required=True, type=Path, metavar="DIR", help="folder for report.html")
    p.set_defaults(run=run)


def _day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadInput(f"{option} must be a date like 2026-11-01, not {text!r}.") from None


def run(args: argparse.Namespace) -> int:
    first, last = _day(args.first, "--from"), _day(args.last, "--to")
    if first > last:
        raise BadInput(f"--from ({first}) is after --to ({last}).")

    from datetime import UTC, datetime

    from triage.service.registry import active_heads
    from triage.service.report import build, require_matplotlib
    from triage.service.words import Words
    from triage.settings import load_settings
    from triage.storage import Database
    from triage.storage.db import database_url, upgrade

    require_matplotlib()
    conf = load_settings()
    data_dir = Path(conf.data_dir)
    url = database_url(conf)
    upgrade(url)
    db = Database(url)
    try:
        args.out.mkdir(parents=True, exist_ok=True)  # an unwritable folder is told first
        with db.session() as session:
            heads = active_heads(conf, session)
            path = build(
                session,
                first,
                last,
                args.out,
                tz=conf.timezone,
                heads=heads,
                words=Words.load(data_dir),
                now=datetime.now(UTC),
                alpha=conf.hotspot_alpha,
                min_count=conf.hotspot_min_count,
            )
    finally:
        db.dispose()
    print(f"Report written to {path}")
    return 0
