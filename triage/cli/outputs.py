"""Writing rows as JSONL, CSV (UTF-8 with a BOM, so Excel shows Chinese) or .xlsx, one row at a
time: a million predictions never sit in memory."""

from __future__ import annotations

import csv
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from triage.engine.cells import as_text
from triage.errors import BadInput

__all__ = ["FORMATS", "Writer", "output_format"]

FORMATS = {".jsonl": "jsonl", ".json": "jsonl", ".csv": "csv", ".xlsx": "xlsx"}
# Control characters XML 1.0 (so .xlsx) cannot hold; a pasted message may carry them.
ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def output_format(path: Path | None, given: str | None) -> str:
    """The output format: ``given`` (--format), else from the file's extension, else JSONL."""
    if given:
        fmt = given
    elif path is None:
        fmt = "jsonl"
    elif path.suffix.lower() in FORMATS:
        fmt = FORMATS[path.suffix.lower()]
    else:
        raise BadInput(f"Cannot tell the format of {path.name} from its extension; give --format.")
    if fmt == "xlsx" and path is None:
        raise BadInput("An .xlsx output needs a file: give --output FILE.xlsx.")
    return fmt


class Writer:
    """Rows (dicts) to ``path`` (None: stdout) in ``fmt``; CSV and .xlsx take ``columns``."""

    def __init__(self, fmt: str, path: Path | None, columns: Sequence[str]) -> None:
        self.fmt, self.path, self.columns = fmt, path, list(columns)
        self._fh: IO[str] | None = None
        self._book: Any = None
        if fmt == "xlsx":
            from openpyxl import Workbook

            self._book = Workbook(write_only=True)
            self._sheet = self._book.create_sheet("predictions")
            self._sheet.append(self.columns)
            return
        if path is None:
            self._fh = sys.stdout
        else:
            # utf-8-sig: the BOM makes Excel read the CSV as UTF-8 (else it guesses GBK).
            self._fh = open(path, "w", encoding="utf-8-sig" if fmt == "csv" else "utf-8", newline="")  # noqa: SIM115
        if fmt == "csv":
            self._csv = csv.DictWriter(self._fh, fieldnames=self.columns, extrasaction="ignore")
            self._csv.writeheader()

    def write(self, row: dict[str, Any]) -> None:
        if self.fmt == "jsonl":
            assert self._fh is not None
            self._fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        elif self.fmt == "csv":
            # As in exports: a citizen's "=..." stays text when the CSV is opened in Excel.
            self._csv.writerow({k: as_text(v) if isinstance(v, str) else v for k, v in row.items()})
        else:
            self._sheet.append([self._cell(row.get(c)) for c in self.columns])

    def _cell(self, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        value = ILLEGAL.sub("", value)
        if value.startswith("="):
            # openpyxl writes a string starting with "=" as a formula; a message is text.
            from openpyxl.cell import WriteOnlyCell

            cell = WriteOnlyCell(self._sheet, value)
            cell.data_type = "s"
            return cell
        return value

    def close(self) -> None:
        if self._book is not None:
            assert self.path is not None
            self._book.save(self.path)
            self._book = None
        elif self._fh is not None and self._fh is not sys.stdout:
            self._fh.close()
        elif self._fh is not None:
            self._fh.flush()

    def __enter__(self) -> Writer:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
