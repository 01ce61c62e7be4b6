"""Importing a centre's past tickets, so stats, hotspots and repeat linking have history from
the first day.

Each row becomes a ticket as intake would store it: a query code, the masked copy of the
text, a due date, a ``received`` event, its repeat bands (triage.service.repeats) and its
words for hotspots (triage.service.words); its labels are the centre's own (``--head
NAME=COLUMN``), not a prediction. Rows are written a batch at a time in one transaction each
(COPY on PostgreSQL), so an interrupted import keeps whole batches, and running it again adds
only what is missing: every ticket keeps its id in the source system (``external_id``,
unique), or, without an id column, a hash of the row.

Rows with an empty text, a date or a status that cannot be read are counted and reported
with their row numbers; they stop nothing.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from triage.engine.heads import role_columns
from triage.engine.progress import Progress, quiet
from triage.engine.text import prepare
from triage.service import repeats, rollups
from triage.service.codes import new_code
from triage.service.status import TRANSITIONS
from triage.service.words import Words
from triage.service.workdays import add_working_days
from triage.storage import bulk

__all__ = ["BATCH", "Columns", "DueRule", "Report", "import_rows", "parse_status", "parse_time"]

BATCH = 5000  # tickets per transaction
CHUNK = 500  # rows per piece of work for a worker process
SHOWN = 10  # bad rows reported by number; the rest are counted
MAX_ID = 128  # the external_id column's width
EVENT_COLUMNS = ("ticket_id", "type", "at", "actor", "department")
BAND_COLUMNS = ("ticket_id", "band", "hash")
WORD_COLUMNS = ("ticket_id", "words")
STATUSES = tuple(TRANSITIONS)
# What centres' systems write for a status, mapped to the service's five.
STATUS_WORDS = {
    "received": ("待处理", "未处理", "新建", "已接收", "待受理", "待派单", "已登记", "open", "new"),
    "dispatched": ("已派单", "派单", "已转办", "转办", "已交办", "交办", "已分派", "处理中"),
    "accepted": ("已受理", "受理", "办理中", "已签收", "签收"),
    "replied": ("已答复", "已回复", "答复", "回复", "已反馈", "待回访"),
    "closed": ("已办结", "办结", "已完成", "完成", "已关闭", "关闭", "已结案", "结案", "已归档", "done"),
}
_STATUS = {word.lower(): status for status, words in STATUS_WORDS.items() for word in words} | {
    s: s for s in STATUSES
}
_DATE = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[\sT]*(\d{1,2})\s*[:时点]\s*(\d{1,2})\s*分?(?:\s*:?\s*(\d{1,2})(?:\.\d+)?\s*秒?)?)?\s*$"
)


@dataclass(frozen=True)
class Columns:
    """Which column of the file holds what; ``heads`` maps a head to its column."""

    text: str
    heads: Mapping[str, str]
    titles: tuple[str, ...] = ()
    created_at: str | None = None
    status: str | None = None
    id: str | None = None

    def required(self) -> list[tuple[str, str]]:
        """(column, the option that named it), for checking them against the file's columns."""
        named = [(self.text, "--text")]
        named += [(col, f"--head {h}={col}") for h, col in self.heads.items()]
        named += [(col, "--title") for col in self.titles]
        for column, option in (
            (self.created_at, "--created-at"),
            (self.status, "--status"),
            (self.id, "--id"),
        ):
            if column:
                named.append((column, option))
        return named


@dataclass
class Report:
    """What an import did: rows read, tickets added, rows already there, rows refused."""

    read: int = 0
    added: int = 0
    existing: int = 0
    bad: int = 0
    bad_rows: list[str] = field(default_factory=list)

    def refuse(self, row: int, why: str) -> None:
        self.bad += 1
        if len(self.bad_rows) < SHOWN:
            self.bad_rows.append(f"row {row}: {why}")


def parse_time(value: str, zone: ZoneInfo) -> datetime | None:
    """A date or time as centres' systems write it (2026-11-20, 2026/11/20 09:30,
    2026年11月20日 9时30分, 20261120, ISO 8601 with an offset), in UTC; a time without an
    offset is local. None when it cannot be read."""
    value = value.strip()
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is None:
        found = _DATE.match(value)
        digits = value.isdigit()
        try:
            if found:
                y, m, d, hh, mm, ss = (int(x) if x else 0 for x in found.groups())
                parsed = datetime(y, m, d, hh, mm, ss)
            elif digits and len(value) == 8:
                parsed = datetime(int(value[:4]), int(value[4:6]), int(value[6:]))
            elif digits and len(value) == 6:  # a month (201712): its first day
                parsed = datetime(int(value[:4]), int(value[4:]), 1)
        except ValueError:
            return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(UTC)


def parse_status(value: str) -> str | None:
    """One of the service's statuses, from its own name or a centre's usual word for it."""
    return _STATUS.get(value.strip().lower())


def row_id(row: Mapping[str, str], columns: Columns) -> str:
    """The row's id in its source system, else a hash of what makes it this ticket."""
    if columns.id:
        return row.get(columns.id, "").strip()
    named = [columns.text, *columns.titles, columns.created_at, columns.status, *columns.heads.values()]
    content = json.dumps([row.get(c, "") if c else "" for c in named], ensure_ascii=False)
    return "sha1:" + hashlib.sha1(content.encode()).hexdigest()


@dataclass(frozen=True)
class DueRule:
    """Working days to answer per category (``limits``, else ``default``), in ``tz``."""

    tz: str
    limits: Mapping[str, int]
    default: int

    def days(self, category: str | None) -> int:
        return self.default if category is None else self.limits.get(category, self.default)


@dataclass
class _Preparer:
    """Turns rows into tickets (the Python work of an import: parsing, masking, banding), in
    this process or in worker processes. Due dates are cached per (local day, working days):
    computing one walks the holiday calendar day by day, which per row was most of an
    earlier import's time."""

    columns: Columns
    due: DueRule
    now: datetime
    channel: str
    words: Words | None = None
    cache: dict[tuple[date, int], datetime] = field(default_factory=dict)

    def __call__(self, numbered: list[tuple[int, Mapping[str, str]]]) -> tuple[list[Prepared], Report]:
        zone = ZoneInfo(self.due.tz)
        report = Report()
        out: list[Prepared] = []
        for where, row in numbered:
            ticket = _ticket(row, self.columns, zone, self.now, self.channel, self._due_at, report, where)
            if ticket is not None:
                grams = repeats.shingles(ticket["text_masked"])
                terms = self.words.stored(ticket["text_masked"]) if self.words is not None else None
                out.append((ticket, repeats.band_hashes(grams) if grams else [], terms))
        return out, report

    def _due_at(self, created: datetime, category: str | None) -> datetime:
        days = self.due.days(category)
        key = (created.astimezone(ZoneInfo(self.due.tz)).date(), days)
        if key not in self.cache:
            self.cache[key] = add_working_days(created, days, self.due.tz)
        return self.cache[key]


# A ticket's columns, its band hashes and its words (None: not stored)
Prepared = tuple[dict[str, Any], list[int], str | None]
_preparer: _Preparer | None = None  # a worker process's own


def _start_worker(preparer: _Preparer) -> None:
    global _preparer
    _preparer = preparer


def _prepare_in_worker(numbered: list[tuple[int, Mapping[str, str]]]) -> tuple[list[Prepared], Report]:
    assert _preparer is not None
    return _preparer(numbered)


def _chunks(
    rows: Iterable[Mapping[str, str]], number: Callable[[], int], size: int
) -> Iterator[list[tuple[int, Mapping[str, str]]]]:
    chunk: list[tuple[int, Mapping[str, str]]] = []
    for row in rows:
        chunk.append((number(), row))
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _unseen(
    engine: Engine, chunks: Iterator[list[tuple[int, Mapping[str, str]]]], columns: Columns, report: Report
) -> Iterator[list[tuple[int, Mapping[str, str]]]]:
    """The chunks less the rows already imported (counted as read and existing), so that
    running an import again costs a lookup per row, not its masking and banding."""
    for chunk in chunks:
        with engine.connect() as conn:
            known = bulk.existing_external_ids(conn, [row_id(row, columns) for _, row in chunk])
        if known:
            fresh = [(n, row) for n, row in chunk if row_id(row, columns) not in known]
            report.read += len(chunk) - len(fresh)
            report.existing += len(chunk) - len(fresh)
            chunk = fresh
        if chunk:
            yield chunk


def _prepared(
    preparer: _Preparer, chunks: Iterator[list[tuple[int, Mapping[str, str]]]], workers: int
) -> Iterator[tuple[list[Prepared], Report, int]]:
    """(tickets, refusals, rows read) per chunk, in file order; with ``workers`` > 0, made by
    that many processes, a few chunks ahead (bounded: memory stays flat)."""
    if workers <= 0:
        for chunk in chunks:
            yield (*preparer(chunk), len(chunk))
        return
    context = multiprocessing.get_context(
        "fork" if "fork" in multiprocessing.get_all_start_methods() else None
    )
    with ProcessPoolExecutor(workers, context, initializer=_start_worker, initargs=(preparer,)) as pool:
        ahead: deque[tuple[Future[tuple[list[Prepared], Report]], int]] = deque()
        for chunk in chunks:
            ahead.append((pool.submit(_prepare_in_worker, chunk), len(chunk)))
            if len(ahead) > 2 * workers + 2:
                done, n = ahead.popleft()
                yield (*done.result(), n)
        while ahead:
            done, n = ahead.popleft()
            yield (*done.result(), n)


def import_rows(
    engine: Engine,
    rows: Iterable[Mapping[str, str]],
    columns: Columns,
    *,
    due: DueRule,
    channel: str = "phone",
    row_number: Callable[[], int] | None = None,
    total: int = 0,
    progress: Progress = quiet,
    batch: int = BATCH,
    workers: int = 0,
    now: datetime | None = None,
    words: Words | None = None,
) -> Report:
    """Import ``rows`` (dicts of column -> text, e.g. ``open_table(...).rows``) as tickets.
    ``row_number()`` gives the file's row number of the row last read (for the report);
    ``total`` an estimate of the rows, for ``progress``; ``workers`` processes prepare the
    rows (0: this one); with ``words``, each ticket's words are stored for hotspots."""
    report = Report()
    preparer = _Preparer(columns, due, now or datetime.now(UTC), channel, words)
    counter = iter(range(2, 1 << 62))  # data rows start at 2 when nobody says where
    number = row_number or (lambda: next(counter))
    pending: dict[str, Prepared] = {}
    if workers > 0:
        engine.dispose()  # no open connection is copied into the worker processes
    # Worker processes mask and band the rows, one thread writes a batch while the next is
    # made: the Python work and the database's work overlap.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-writer") as writer:
        writing: Future[None] | None = None

        def flush() -> None:
            nonlocal writing
            if writing is not None:
                writing.result()
            writing = writer.submit(_write, engine, list(pending.values()), report)
            pending.clear()
            progress("importing", report.read, max(total, report.read))

        chunks = _unseen(engine, _chunks(rows, number, CHUNK), columns, report)
        for tickets, refused, n in _prepared(preparer, chunks, workers):
            report.read += n
            report.bad += refused.bad
            report.bad_rows += refused.bad_rows[: SHOWN - len(report.bad_rows)]
            for prepared in tickets:
                ticket = prepared[0]
                if ticket["external_id"] in pending:
                    report.existing += 1  # the same id twice in one file: the first one counts
                    continue
                pending[ticket["external_id"]] = prepared
            if len(pending) >= batch:
                flush()
        flush()
        if writing is not None:
            writing.result()
    return report


def _ticket(
    row: Mapping[str, str],
    columns: Columns,
    zone: ZoneInfo,
    now: datetime,
    channel: str,
    due: Callable[[datetime, str | None], datetime],
    report: Report,
    where: int,
) -> dict[str, Any] | None:
    """The ticket of one row, or None (counted in ``report``) when it cannot be one."""
    text = row.get(columns.text, "").strip()
    if not text:
        report.refuse(where, f"the text ({columns.text}) is empty")
        return None
    created = now
    if columns.created_at:
        raw = row.get(columns.created_at, "")
        parsed = parse_time(raw, zone)
        if parsed is None:
            report.refuse(where, f"{columns.created_at} {raw!r} is not a date")
            return None
        created = parsed
    status = "closed"  # history: what the file does not say is done
    if columns.status:
        raw = row.get(columns.status, "")
        found = parse_status(raw)
        if found is None:
            report.refuse(where, f"{columns.status} {raw!r} is not a status ({', '.join(STATUSES)})")
            return None
        status = found
    external = row_id(row, columns)
    if not external or len(external) > MAX_ID:
        report.refuse(where, f"the id ({columns.id}) is empty or longer than {MAX_ID} characters")
        return None
    # Several title columns are joined as training joins them (triage.engine.data).
    title = "。".join(t for c in columns.titles if (t := row.get(c, "").strip())) or None
    labels = {h: label for h, col in columns.heads.items() if (label := row.get(col, "").strip())}
    roles = role_columns(labels)
    return {
        "code": "",
        "created_at": created,
        "updated_at": created,
        "channel": channel,
        "title": title,
        "text": text,
        "text_masked": prepare(text, title),
        "status": status,
        **roles,
        "labels": labels,
        "prediction": {"source": "import", "needs_review": False},
        "model_version": None,
        "needs_review": False,
        "confidence": 1.0,
        "due_at": due(created, roles.get("category")),
        "closed_at": None,
        "uncertain_heads": "",
        "margin": 1.0,
        "external_id": external,
    }


def _write(engine: Engine, batch: list[Prepared], report: Report, attempts: int = 3) -> None:
    """One batch in one transaction: the tickets not stored yet, their events and bands. A
    unique index that refuses the batch (a query code drawn twice, or another import of the
    same rows meanwhile) makes it try again."""
    for attempt in range(attempts):
        try:
            with engine.begin() as conn:
                known = bulk.existing_external_ids(conn, [p[0]["external_id"] for p in batch])
                fresh = [p for p in batch if p[0]["external_id"] not in known]
                tickets = [p[0] for p in fresh]
                for t in tickets:
                    t["code"] = new_code()
                ids = bulk.insert_tickets(conn, tickets)
                # Written without the ORM, so counted into the daily rollups here, in the
                # same transaction: the summary reads them.
                rollups.add_tickets(conn, tickets)
                events = [
                    (tid, "received", t["created_at"], "import", t["department"])
                    for tid, t in zip(ids, tickets, strict=True)
                ]
                bulk.insert_rows(conn, "ticket_events", EVENT_COLUMNS, events)
                banded = [
                    (tid, band, value)
                    for tid, (_, bands, _) in zip(ids, fresh, strict=True)
                    for band, value in enumerate(bands)
                ]
                bulk.insert_rows(conn, "ticket_bands", BAND_COLUMNS, banded)
                worded = [(tid, w) for tid, (_, _, w) in zip(ids, fresh, strict=True) if w is not None]
                bulk.insert_rows(conn, "ticket_words", WORD_COLUMNS, worded)
            report.added += len(fresh)
            report.existing += len(known)
            return
        except IntegrityError:
            if attempt == attempts - 1:
                raise


def estimate_rows(path: Any) -> int:
    """Lines in a text file less its header, quickly (an estimate: a quoted cell may hold a
    line break); 0 when unknown."""
    try:
        with open(path, "rb") as fh:
            lines = sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
    except OSError:
        return 0
    return max(0, lines - 1)
