"""triage tickets export|import: the stored tickets as a file, and a centre's past tickets in."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from triage.cli.dataopts import add_data_options
from triage.cli.parsing import actions, command
from triage.errors import BadInput

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from triage.engine.heads import Heads
    from triage.settings import Settings

# triage.service.status.TRANSITIONS (kept equal by a test; importing it would load SQLAlchemy)
STATUSES = ("received", "dispatched", "accepted", "replied", "closed")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str) -> None:
    p = command(
        sub,
        name,
        help="export stored tickets, or import a centre's past ones",
        examples=[
            "triage tickets export --output tickets.csv",
            "triage tickets import orders.csv --text 内容 --head department=承办单位 --id 工单编号",
        ],
    )
    each = actions(p)
    out = command(
        each,
        "export",
        help="write the tickets (newest first) as CSV or XLSX",
        description=(
            "Write the stored tickets, newest first, with the staff listing's filters: CSV in UTF-8 "
            "with a byte-order mark (Excel shows Chinese) or an XLSX workbook. The text is the masked "
            "copy (ID card and phone numbers replaced); original texts and contacts are not exported."
        ),
        examples=[
            "triage tickets export --output tickets.csv",
            "triage tickets export --format xlsx --output overdue.xlsx --overdue yes",
            "triage tickets export --department housing_bureau --since 2026-11-01 > housing.csv",
        ],
    )
    out.add_argument(
        "--format", choices=["csv", "xlsx"], help="file format; default: from --output's suffix, else csv"
    )
    out.add_argument("-o", "--output", help="file to write; default: standard output")
    out.add_argument("--status", choices=STATUSES, help="only tickets in this status")
    out.add_argument("--department", help="only this department's tickets")
    out.add_argument("--category", help="only this category")
    out.add_argument("--since", help="only tickets created on or after this local date (2026-11-01)")
    out.add_argument(
        "--overdue", choices=["yes", "no"], help="only overdue (yes) or not overdue (no) tickets"
    )
    out.add_argument(
        "--needs-review", choices=["yes", "no"], help="only tickets that need review (yes) or not"
    )
    out.set_defaults(run=run_export)
    add_import(each)


def add_import(each: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    imp = command(
        each,
        "import",
        help="load a centre's past tickets from CSV or XLSX",
        description=(
            "Load past tickets into the store, so stats, hotspots and repeat linking have history "
            "from the first day: each row gets a query code, a masked copy of its text, a due date "
            "and its repeat bands; its labels are the file's own columns (--head). Running it again "
            "adds only rows not yet imported (by --id, else by a hash of the row). Rows with an "
            "empty text or a date or status that cannot be read are counted and reported."
        ),
        examples=[
            "triage tickets import orders.csv --text 内容 --head department=承办单位 --head category=类别 "
            "--created-at 受理时间 --status 状态 --id 工单编号",
            "triage tickets import orders.xlsx --sheet 工单 --text text --head department=department",
        ],
    )
    imp.add_argument("file", help="a CSV (UTF-8, GBK or GB18030) or .xlsx file with a header row")
    add_data_options(imp, data=None, ids=False, rare=False)
    imp.add_argument("--created-at", metavar="COLUMN", help="when each ticket came in; default: now")
    imp.add_argument("--status", metavar="COLUMN", help="each ticket's status; default: closed")
    imp.add_argument("--id", metavar="COLUMN", help="each ticket's id in the source system")
    imp.add_argument(
        "--channel", choices=["phone", "web", "window", "app"], default="phone", help="the tickets' channel"
    )
    imp.set_defaults(run=run_import)


def run_import(args: argparse.Namespace) -> int:
    from triage.cli.common import say
    from triage.cli.dataopts import data_spec
    from triage.cli.progress import progress_bars
    from triage.engine.heads import default_heads
    from triage.engine.readers import open_table
    from triage.service.imports import Columns, DueRule, estimate_rows, import_rows
    from triage.service.words import Words
    from triage.settings import load_settings
    from triage.storage.db import Database, database_url, upgrade

    conf = load_settings()
    spec = data_spec(args)
    with open_table(args.file, encoding=spec.encoding, sheet=spec.sheet) as table:
        columns = Columns(
            text=spec.text,
            heads=spec.heads or {h: h for h in default_heads() if h in table.columns},
            titles=spec.titles or tuple(c for c in ("title",) if c in table.columns),
            created_at=args.created_at,
            status=args.status,
            id=args.id,
        )
        for column, option in columns.required():
            table.require(column, option)
        url = database_url(conf)
        upgrade(url)
        db = Database(url)
        try:
            with db.session() as session:
                heads = model_heads(conf, session)
            total = estimate_rows(table.path) if table.encoding != "xlsx" else 0
            with progress_bars() as progress:
                report = import_rows(
                    db.engine,
                    table.rows,
                    columns,
                    due=DueRule(
                        conf.timezone,
                        {**heads.time_limits, **conf.time_limits},
                        conf.default_time_limit,
                    ),
                    # Worker processes pay off on big files; a small one is done before they start.
                    workers=len(os.sched_getaffinity(0)) if total > 20_000 else 0,
                    channel=args.channel,
                    row_number=lambda: table.row_number,
                    total=total,
                    progress=progress,
                    words=Words.load(Path(conf.data_dir)),
                )
        finally:
            db.dispose()
    say(
        f"Imported {report.added} tickets from {report.read} rows of {Path(args.file).name}; "
        f"{report.existing} were there already, {report.bad} refused."
    )
    for line in report.bad_rows:
        say(f"  {line}")
    if report.bad > len(report.bad_rows):
        say(f"  ... and {report.bad - len(report.bad_rows)} more.")
    return 0


def _since(text: str | None, tz: str) -> datetime | None:
    if not text:
        return None
    try:
        day = datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise BadInput(f"--since {text!r} is not a date such as 2026-11-01.") from None
    return datetime.combine(day, time(), ZoneInfo(tz)).astimezone(UTC)


def _yes_no(value: str | None) -> bool | None:
    return None if value is None else value == "yes"


def model_heads(conf: Settings, session: Session) -> Heads:
    """The active model's heads (from its card: the model is not loaded), or, with no model
    yet, none: labels are then shown by their ids and times use the default limit."""
    from triage.engine.heads import heads_of
    from triage.errors import ModelRefused
    from triage.service.registry import active_heads

    try:
        return active_heads(conf, session)
    except ModelRefused:
        return heads_of({})


def run_export(args: argparse.Namespace) -> int:
    from triage.cli.common import say
    from triage.service import exports
    from triage.settings import load_settings
    from triage.storage.db import Database, database_url, upgrade

    conf = load_settings()
    fmt = args.format or ("xlsx" if args.output and args.output.lower().endswith(".xlsx") else "csv")
    filters = {
        "status": args.status,
        "department": args.department,
        "category": args.category,
        "since": _since(args.since, conf.timezone),
        "overdue": _yes_no(args.overdue),
        "needs_review": _yes_no(args.needs_review),
    }
    url = database_url(conf)
    upgrade(url)
    db = Database(url)
    count = 0
    try:
        with db.session() as session:
            heads = model_heads(conf, session)
        found = exports.export(
            db.session,
            filters,
            tz=conf.timezone,
            names=heads.name,
            extra_heads=heads.extras,
        )

        def counted() -> Iterator[list[Any]]:
            nonlocal count
            for row in found.rows:
                count += 1
                yield row

        data = exports.Export(found.columns, counted())
        chunks = exports.xlsx_chunks(data) if fmt == "xlsx" else exports.csv_chunks(data)
        if args.output:
            target = Path(args.output)
            partial = target.with_name(target.name + ".part")
            with open(partial, "wb") as fh:
                for chunk in chunks:
                    fh.write(chunk)
            partial.replace(target)  # a cut-off export never sits under the asked name
        else:
            if fmt == "xlsx" and sys.stdout.isatty():
                raise BadInput("An XLSX export is binary: give --output FILE or redirect it to a file.")
            for chunk in chunks:
                sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.flush()
    finally:
        db.dispose()
    say(f"Exported {count} tickets as {fmt}" + (f" to {args.output}." if args.output else "."))
    return 0
