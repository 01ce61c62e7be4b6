"""The `triage` command. Each sub-command lives in its own module under triage/commands."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from triage.errors import TriageError

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    from triage.cli.commands import COMMANDS

    parser = argparse.ArgumentParser(
        prog="triage", description="Triage citizen messages: category, department and kind."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in COMMANDS.items():
        module.add_parser(sub, name)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 2 bad input, 1/3 other errors)."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed its one-line error (or --help)
        return int(exc.code or 0)
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    logging.getLogger("triage").setLevel(logging.DEBUG if args.verbose else logging.INFO)
    try:
        return int(args.run(args) or 0)
    except TriageError as exc:
        print(f"triage: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("triage: interrupted.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:
        from sqlalchemy.exc import OperationalError  # imported here: starting the CLI stays cheap

        if not isinstance(exc, OperationalError):
            raise
        # A missing, read-only or full database is the operator's to fix: one sentence.
        print(f"triage: the database cannot be used: {exc.orig or exc}.", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
