"""The options that say how to read a centre's files, shared by train, evaluate, audit, benchmark
and retrain: ``--data FILE ... --text COLUMN [--title COLUMN] [--head NAME=COLUMN ...]
[--id COLUMN] [--encoding ENC] [--sheet NAME] [--min-rows N] [--drop-rare] [--fallback LABEL]``.

Cheap to import (no engine): ``triage --help`` builds every parser.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from triage.errors import BadInput

if TYPE_CHECKING:
    from triage.engine.data import DataSpec

__all__ = ["MIN_ROWS", "add_data_options", "data_paths", "data_spec"]

MIN_ROWS = 5  # triage.engine.data.MIN_ROWS (kept equal by a test; importing it would load the engine)

COLUMN_OPTIONS = ("text", "titles", "heads", "id", "encoding", "sheet")


def add_data_options(
    p: argparse.ArgumentParser,
    *,
    data: str | None = "labelled CSV or .xlsx files",
    required: bool = False,
    heads: bool = True,
    ids: bool = True,
    rare: bool = True,
    fallback: bool = False,
) -> None:
    """Add the reading options to ``p``: ``data`` is the help of ``--data`` (None: no --data,
    the command names its files otherwise); ``heads`` adds --head, ``ids`` --id, ``rare``
    --min-rows and --drop-rare, ``fallback`` --fallback."""
    if data is not None:
        p.add_argument("--data", nargs="+", required=required, metavar="FILE", help=data)
    g = p.add_argument_group("columns of the files (a centre's own export)")
    g.add_argument("--text", metavar="COLUMN", help="the column holding the message text (default: text)")
    g.add_argument(
        "--title",
        dest="titles",
        action="append",
        metavar="COLUMN",
        help="a title column, put before the text (repeatable; default: title, when the file has one)",
    )
    if heads:
        g.add_argument(
            "--head",
            dest="heads",
            action="append",
            metavar="NAME=COLUMN",
            help="train head NAME on the labels in COLUMN (repeatable); department and category are "
            "the heads the service routes and times by, any other name (kind, urgency) is extra; "
            "default: the columns named category, department and kind",
        )
    if ids:
        g.add_argument(
            "--id",
            metavar="COLUMN",
            help="the column of each row's id, which fixes the held-out tenth (default: id, when the "
            "file has one, else the file's name and row number)",
        )
    g.add_argument("--encoding", metavar="ENC", help="encoding of CSV files (default: UTF-8, else GB18030)")
    g.add_argument("--sheet", metavar="NAME", help="the sheet of .xlsx files (default: the first)")
    if rare:
        g.add_argument(
            "--min-rows",
            type=int,
            default=MIN_ROWS,
            metavar="N",
            help="labels with fewer rows are reported as rare",
        )
        g.add_argument("--drop-rare", action="store_true", help="leave rare labels out of their head")
    if fallback:
        g.add_argument(
            "--fallback",
            metavar="LABEL",
            help="the department uncertain messages go to; must be a department label (default: the "
            "bundled taxonomy's when it is one, else the most frequent department)",
        )


def _parse_heads(pairs: list[str] | None) -> dict[str, str] | None:
    if not pairs:
        return None
    heads: dict[str, str] = {}
    for pair in pairs:
        name, sep, column = pair.partition("=")
        name, column = name.strip(), column.strip()
        if not sep or not name or not column:
            raise BadInput(f"--head {pair!r} is not NAME=COLUMN (e.g. --head department=承办单位).")
        if name in heads:
            raise BadInput(f"--head {name} is given twice.")
        heads[name] = column
    return heads


def data_spec(args: argparse.Namespace) -> DataSpec:
    """The DataSpec the options describe; BadInput for a malformed --head or --min-rows."""
    from triage.engine.data import DataSpec

    min_rows = getattr(args, "min_rows", MIN_ROWS)
    if min_rows < 1:
        raise BadInput("--min-rows must be at least 1.")
    return DataSpec(
        text=args.text or "text",
        titles=tuple(t.strip() for t in args.titles or ()),
        heads=_parse_heads(getattr(args, "heads", None)),
        id=getattr(args, "id", None),
        encoding=args.encoding,
        sheet=args.sheet,
        min_rows=min_rows,
        drop_rare=getattr(args, "drop_rare", False),
    )


def data_paths(args: argparse.Namespace) -> list[Path] | None:
    """The --data files (each must exist), or None when none were given; the column options
    without --data are refused, since they would silently not apply to the bundled data."""
    if not args.data:
        given = [f"--{name.rstrip('s')}" for name in COLUMN_OPTIONS if getattr(args, name, None)]
        if given:
            raise BadInput(f"{given[0]} describes the --data files; give them with --data FILE ...")
        return None
    paths = [Path(p) for p in args.data]
    for path in paths:
        if not path.is_file():
            raise BadInput(f"The file {path} does not exist.")
    return paths
