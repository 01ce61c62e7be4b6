"""The `triage` command. Each sub-command lives in its own module under triage/cli."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from triage.errors import DatabaseUnusable, ExitCode, TriageError

__all__ = ["main"]

EXIT_CODES = "exit status:\n" + "\n".join(f"  {code.value:<3} {code.meaning}" for code in ExitCode)


def _parser() -> argparse.ArgumentParser:
    from triage import __version__
    from triage.cli.commands import COMMANDS
    from triage.cli.parsing import Formatter, epilog

    parser = argparse.ArgumentParser(
        prog="triage",
        description="Triage citizen messages: category, department and kind.",
        epilog=epilog(
            ['triage predict "窗口排队两个小时，太慢了"', "triage serve", "triage train --help"], EXIT_CODES
        ),
        formatter_class=Formatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in COMMANDS.items():
        module.add_parser(sub, name)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (the codes of :class:`ExitCode`)."""
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
        return _fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        return _fail("interrupted.", ExitCode.INTERRUPTED)
    except BrokenPipeError:
        return ExitCode.OK
    except OSError as exc:  # a folder that cannot be written, a disk that is full
        where = f": {exc.filename}" if exc.filename else ""
        return _fail(f"{exc.strerror or exc}{where}.", ExitCode.ERROR)
    except Exception as exc:
        from sqlalchemy.exc import OperationalError  # imported here: starting the CLI stays cheap

        if not isinstance(exc, OperationalError):
            raise
        # A missing, read-only or full database is the operator's to fix: one sentence.
        reason = " ".join(str(exc.orig or exc).split()).rstrip(".")  # drivers answer in several lines
        error = DatabaseUnusable(f"The database cannot be used: {reason}.")
        return _fail(str(error), error.exit_code)


def _fail(sentence: str, code: int) -> int:
    print(f"triage: {sentence}", file=sys.stderr)
    return int(code)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
