"""Exports of the staff listing as CSV or XLSX, streamed: rows are read in keyset batches
(newest first, by id) and written out batch by batch, so a million tickets never sit in
memory at once, on either database.

What an export holds: routing, state, dates in the service's local time, and the text as
stored for learning (``text_masked``: ID card, phone and other numbers masked). Not the
original text nor the contact: an export is a file that travels (mail, USB sticks, shared
folders); the original and the contact stay behind ``/v1/tickets/<code>/full``, one ticket at
a time.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage.engine.cells import as_text
from triage.errors import BadInput
from triage.service.tickets import conditions
from triage.storage.schema import Ticket

__all__ = ["FORMATS", "Export", "csv_chunks", "export", "xlsx_chunks"]

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
BATCH = 2000
CHUNK = 1 << 16
XLSX_ROWS = 1_048_576 - 1  # a sheet's rows less the header; more go on to the next sheet
Names = Callable[[str, str], str]


@dataclass(frozen=True)
class Export:
    """The header and the rows (an iterator: read once, batch by batch)."""

    columns: list[str]
    rows: Iterator[list[Any]]


def check_format(value: str | None) -> str:
    fmt = (value or "csv").lower()
    if fmt not in FORMATS:
        raise BadInput(f"Unknown export format {value!r}; use one of: {', '.join(FORMATS)}.")
    return fmt


def columns(extra_heads: Sequence[str]) -> list[str]:
    return [
        *("code", "created_at", "status", "channel"),
        *("department", "department_name", "category", "category_name"),
        *extra_heads,
        *("due_at", "overdue", "closed_at", "needs_review", "text"),
    ]


def export(
    sessions: Callable[[], Session],
    filters: dict[str, Any],
    *,
    tz: str,
    names: Names,
    extra_heads: Sequence[str] = (),
    now: datetime | None = None,
    batch: int = BATCH,
    beat: Callable[[], None] | None = None,
) -> Export:
    """The tickets the staff listing's ``filters`` select (department scoping already
    applied by the caller), newest first, with the labels of ``extra_heads`` (the model's
    heads other than department and category) as columns of their own. ``sessions`` opens
    the session the rows are read with (closed when the rows are exhausted or dropped);
    ``beat`` is called after each batch (a server's watchdog that must hear from a long
    request)."""
    now = now or datetime.now(UTC)
    return Export(
        columns(extra_heads),
        _rows(sessions, filters, tz, names, tuple(extra_heads), now, batch, beat or (lambda: None)),
    )


def _rows(
    sessions: Callable[[], Session],
    filters: dict[str, Any],
    tz: str,
    names: Names,
    extra_heads: tuple[str, ...],
    now: datetime,
    batch: int,
    beat: Callable[[], None],
) -> Iterator[list[Any]]:
    zone = ZoneInfo(tz)
    conds = conditions(filters, now)
    wanted = (
        *(Ticket.id, Ticket.code, Ticket.created_at, Ticket.status, Ticket.channel),
        *(Ticket.department, Ticket.category, Ticket.labels, Ticket.due_at, Ticket.closed_at),
        *(Ticket.needs_review, Ticket.text_masked),
    )
    named: dict[tuple[str, str], str] = {}

    def name(head: str, label: str | None) -> str:
        if label is None:
            return ""
        if (head, label) not in named:
            named[head, label] = names(head, label)
        return named[head, label]

    def local(value: datetime | None) -> str:
        return value.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") if value else ""

    session = sessions()
    try:
        after: int | None = None
        while True:
            query = select(*wanted).where(*conds).order_by(Ticket.id.desc()).limit(batch)
            if after is not None:
                query = query.where(Ticket.id < after)
            found = session.execute(query).all()
            session.rollback()  # no read transaction held open between batches
            for r in found:
                labels = r.labels or {}
                yield [
                    *(r.code, local(r.created_at), r.status, r.channel),
                    *(r.department or "", name("department", r.department)),
                    *(r.category or "", name("category", r.category)),
                    *(labels.get(h) or "" for h in extra_heads),
                    local(r.due_at),
                    r.status != "closed" and r.due_at < now,
                    local(r.closed_at),
                    bool(r.needs_review),
                    as_text(r.text_masked),
                ]
            beat()
            if len(found) < batch:
                return
            after = found[-1].id
    finally:
        session.close()


def _cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value


def csv_chunks(data: Export) -> Iterator[bytes]:
    """UTF-8 CSV with a byte-order mark (Excel reads it as UTF-8 and shows Chinese), in
    chunks of about CHUNK bytes."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(data.columns)
    for row in data.rows:
        writer.writerow([_cell(v) for v in row])
        if buffer.tell() >= CHUNK:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def xlsx_chunks(data: Export) -> Iterator[bytes]:
    """An XLSX workbook. openpyxl's write-only mode streams each sheet's rows to a temporary
    file, so memory stays flat; the zip is only complete at the end, so the first bytes
    come once every row is written."""
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    def clean(value: Any) -> Any:
        value = _cell(value)
        return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value

    book = Workbook(write_only=True)
    sheet = None
    written = XLSX_ROWS
    for row in data.rows:
        if written >= XLSX_ROWS:
            sheet = book.create_sheet(f"tickets {len(book.worksheets) + 1}" if book.worksheets else "tickets")
            sheet.append(data.columns)
            written = 0
        assert sheet is not None
        sheet.append([clean(v) for v in row])
        written += 1
    if sheet is None:
        book.create_sheet("tickets").append(data.columns)
    with tempfile.TemporaryFile() as fh:
        book.save(fh)
        fh.seek(0)
        while chunk := fh.read(CHUNK):
            yield chunk
