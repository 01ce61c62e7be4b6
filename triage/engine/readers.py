"""Reading a centre's own tables: CSV in UTF-8 (with or without BOM), GBK or GB18030, and .xlsx.

:func:`open_table` streams: ``rows`` is an iterator, so a file of a million rows is read in
constant memory (training keeps what it needs; an import writes as it goes). Every cell comes
out as a stripped string, whatever the file stored, so callers see one kind of row.
"""

from __future__ import annotations

import codecs
import csv
import warnings
import weakref
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from triage.errors import BadInput

__all__ = ["ENCODINGS", "Position", "Table", "cell_text", "open_table"]

#: Tried in this order when no encoding is given. UTF-8 is strict, so a GBK file fails it at
#: its first Chinese character; GB18030 is a superset of GBK (and of GB2312), so it reads both.
ENCODINGS = ("utf-8-sig", "gb18030")
SAMPLE_BYTES = 1 << 20  # enough to see many Chinese characters; a later bad byte is still caught
EXCEL = (".xlsx", ".xlsm")
csv.field_size_limit(10_000_000)


class Position:
    """Where a row iterator is: shared with it, so the iterator needs no reference to its
    Table (no cycle: a table dropped half-read releases its file at once)."""

    def __init__(self, row: int) -> None:
        self.row = row


@dataclass
class Table:
    """Columns of a table and a one-pass iterator over its rows (column -> stripped text).

    ``row_number`` is the file's row number (the header is row 1, or the row it sits on) of
    the row last yielded, for messages that point a person at the right row. The file is
    released when ``rows`` ends or is dropped, or at ``close()`` (or the end of a ``with``).
    """

    path: Path
    columns: list[str]
    encoding: str
    rows: Iterator[dict[str, str]]
    sheet: str | None = None
    position: Position = field(default_factory=lambda: Position(1), repr=False)
    _close: list[Any] = field(default_factory=list, repr=False)

    @property
    def row_number(self) -> int:
        return self.position.row

    def close(self) -> None:
        for closer in self._close:
            closer()
        self._close.clear()

    def __enter__(self) -> Table:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def require(self, column: str, option: str = "") -> None:
        """BadInput naming the columns the file has when ``column`` is not one of them."""
        if column not in self.columns:
            where = f" (given by {option})" if option else ""
            raise BadInput(
                f"The file {self.path.name} has no column {column!r}{where}; "
                f"its columns are: {', '.join(self.columns) or 'none'}."
            )


def open_table(path: str | Path, encoding: str | None = None, sheet: str | None = None) -> Table:
    """The table in ``path``: CSV (encoding detected, or ``encoding``) or .xlsx (``sheet``, else the
    first sheet). BadInput, with one sentence, for anything that cannot be read."""
    path = Path(path)
    if not path.is_file():
        raise BadInput(f"The data file {path} does not exist.")
    suffix = path.suffix.lower()
    if suffix in EXCEL:
        return _open_xlsx(path, sheet)
    if suffix == ".xls":
        raise BadInput(f"{path.name} is an old Excel .xls file; save it as .xlsx or CSV and try again.")
    if sheet is not None:
        raise BadInput(f"--sheet applies to .xlsx files only, and {path.name} is not one.")
    return _open_csv(path, encoding)


# -- CSV ------------------------------------------------------------------------------------


def _detect(path: Path) -> str:
    with open(path, "rb") as fh:
        sample = fh.read(SAMPLE_BYTES)
        final = len(sample) < SAMPLE_BYTES
    for name in ENCODINGS:
        try:
            # Incremental, so a character cut in two at the end of the sample is no error.
            codecs.getincrementaldecoder(name)("strict").decode(sample, final=final)
        except UnicodeDecodeError:
            continue
        if name == "utf-8-sig":
            return name if sample.startswith(codecs.BOM_UTF8) else "utf-8"
        return name
    raise BadInput(
        f"The file {path.name} is not text in any of {', '.join(_label(e) for e in ENCODINGS)}; "
        "save it as UTF-8 CSV, or give its encoding with --encoding."
    )


def _label(name: str) -> str:
    return "UTF-8 (with or without BOM)" if name == "utf-8-sig" else name.upper()


def _open_csv(path: Path, encoding: str | None) -> Table:
    if encoding:
        try:
            name = codecs.lookup(encoding).name
        except LookupError:
            known = "try utf-8, gbk or gb18030"
            raise BadInput(f"{encoding!r} is not an encoding Python knows ({known}).") from None
        if name == "utf-8":
            name = "utf-8-sig"  # a BOM is never part of the first column's name
    else:
        name = _detect(path)
    fh = open(path, encoding="utf-8-sig" if name == "utf-8" else name, newline="")  # noqa: SIM115
    try:
        reader = csv.reader(fh)
        header = next(reader, None)
    except UnicodeDecodeError as exc:
        fh.close()
        raise BadInput(
            f"The file {path.name} is not valid {name} near row 1 ({exc.reason}); "
            "give its encoding with --encoding."
        ) from exc
    except csv.Error as exc:
        fh.close()
        raise BadInput(f"The first row of {path.name} is not valid CSV: {exc}.") from exc
    if header is None:
        fh.close()
        raise BadInput(f"The file {path.name} is empty: it has no header row.")
    columns = _names(header)
    at = Position(1)
    rows = _csv_rows(path, name, columns, reader, at)
    weakref.finalize(rows, fh.close)  # also when the iterator is dropped before its first row
    return Table(path, columns, name, rows, position=at, _close=[fh.close])


def _csv_rows(
    path: Path, encoding: str, columns: list[str], reader: Iterator[list[str]], at: Position
) -> Iterator[dict[str, str]]:
    n = len(columns)
    try:
        for record in reader:
            at.row += 1
            cells = [c.strip() for c in record[:n]]
            if not any(cells):
                continue  # a blank line, or a row of empty cells
            cells += [""] * (n - len(cells))
            yield dict(zip(columns, cells, strict=True))
    except UnicodeDecodeError as exc:
        raise BadInput(
            f"The file {path.name} is not valid {encoding} near row {at.row + 1} "
            f"({exc.reason}); give its encoding with --encoding."
        ) from exc
    except csv.Error as exc:
        raise BadInput(f"Row {at.row} of {path.name} is not valid CSV: {exc}.") from exc


def _names(header: Iterable[Any]) -> list[str]:
    """Stripped header names; a blank one becomes ``column N`` and a repeated one ``name (2)``,
    so every column can be named on the command line."""
    names: list[str] = []
    for number, raw in enumerate(header, start=1):
        name = cell_text(raw) or f"column {number}"
        base, k = name, 2
        while name in names:
            name, k = f"{base} ({k})", k + 1
        names.append(name)
    while names and names[-1].startswith("column ") and names[-1] == f"column {len(names)}":
        names.pop()  # trailing empty header cells (Excel's habit), not columns anyone named
    return names


# -- Excel ----------------------------------------------------------------------------------


def cell_text(value: Any) -> str:
    """A cell as text: numbers without a spurious ``.0``, dates and times as ISO 8601."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, datetime):
        if value.time() == time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return str(value).strip()


def _open_xlsx(path: Path, sheet: str | None) -> Table:
    import zipfile

    from openpyxl import load_workbook  # imported here: `import triage` stays cheap

    try:
        with warnings.catch_warnings():
            # Files written by other tools often lack a default style; styles are not read here.
            warnings.simplefilter("ignore", UserWarning)
            book = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise BadInput(f"The file {path.name} is not a readable .xlsx workbook: {exc}.") from exc
    names = list(book.sheetnames)
    if sheet is not None and sheet not in names:
        book.close()
        raise BadInput(
            f"The workbook {path.name} has no sheet {sheet!r}; its sheets are: {', '.join(names)}."
        )
    ws = book[sheet] if sheet is not None else book.worksheets[0]
    values = ws.iter_rows(values_only=True)
    header: tuple[Any, ...] | None = None
    number = 0
    for record in values:
        number += 1
        if any(cell_text(v) for v in record):
            header = record
            break
    if header is None:
        book.close()
        raise BadInput(f"The sheet {ws.title!r} of {path.name} is empty: it has no header row.")
    columns, at = _names(header), Position(number)
    rows = _xlsx_rows(columns, values, at)
    weakref.finalize(rows, book.close)
    return Table(path, columns, "xlsx", rows, sheet=ws.title, position=at, _close=[book.close])


def _xlsx_rows(
    columns: list[str], values: Iterator[tuple[Any, ...]], at: Position
) -> Iterator[dict[str, str]]:
    n = len(columns)
    for record in values:
        at.row += 1
        cells = [cell_text(v) for v in record[:n]]
        if not any(cells):
            continue
        cells += [""] * (n - len(cells))
        yield dict(zip(columns, cells, strict=True))
