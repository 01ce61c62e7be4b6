"""What every sub-command's parser shares: help, examples, defaults shown, ``--json`` listings.

A new sub-command calls :func:`command` (or :func:`actions` for ``triage x list|show``) and,
when it lists things, :func:`add_json` plus :func:`print_rows`. Cheap to import: ``triage
--help`` must not load the engine.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["Formatter", "actions", "add_json", "command", "epilog", "print_rows"]


class Formatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Examples kept as written; an option's default shown unless it is empty or a plain flag."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if "%(default)" in text or default in (None, False, "", argparse.SUPPRESS):
            return text
        if action.option_strings or action.nargs in (argparse.OPTIONAL, argparse.ZERO_OR_MORE):
            return f"{text} (default: %(default)s)"
        return text


def epilog(examples: Sequence[str], notes: str = "") -> str:
    lines = ["examples:", *(f"  {e}" for e in examples)]
    return "\n".join([*lines, "", notes] if notes else lines)


def command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    *,
    help: str,
    examples: Sequence[str],
    description: str | None = None,
) -> argparse.ArgumentParser:
    """A sub-command parser with its one-line help, a description and examples in the epilog."""
    return sub.add_parser(
        name,
        help=help,
        description=description or f"{help[0].upper()}{help[1:]}.",
        epilog=epilog(examples),
        formatter_class=Formatter,
    )


def actions(parser: argparse.ArgumentParser) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    """``triage x ACTION ...``: the actions of a command, each made with :func:`command`."""
    return parser.add_subparsers(dest="action", required=True, metavar="ACTION")


def add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON array (one object per row) instead of a table, for scripts",
    )


def print_rows(
    rows: Sequence[Mapping[str, Any]], as_json: bool, line: Callable[[Mapping[str, Any]], str]
) -> None:
    """A listing on stdout: a JSON array with ``--json``, else one formatted line per row."""
    if as_json:
        json.dump(list(rows), sys.stdout, ensure_ascii=False, default=str)
        sys.stdout.write("\n")
        return
    for row in rows:
        print(line(row))
