"""A year of a hotline, written straight into the database (COPY on PostgreSQL, executemany
in big transactions on SQLite), for benchmarks.scale.

Every ticket is a real intake row from data/messages, routed once by the model, replicated
over 365 days: weekly and seasonal volume swings, popular topics more frequent than rare
ones, older tickets closed and reviewed, a few sent back; and in the last 30 days one
complaint re-sent thousands of times with small edits, all open and linked in one cluster.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import sqlalchemy as sa

from triage.engine.text import mask, normalize
from triage.service import repeats
from triage.service.codes import ALPHABET, check_symbol
from triage.service.tickets import labels_of, review_fields

DAYS = 365
CHANNELS = ("web", "web", "web", "phone", "phone", "app", "window")
OPEN = ("received", "dispatched", "accepted", "replied")
TICKET_COLUMNS = (
    *("id", "code", "created_at", "updated_at", "channel", "text", "text_masked", "contact_phone"),
    *("status", "category", "department", "labels", "prediction", "model_version", "needs_review"),
    *("confidence", "due_at", "closed_at", "review_reason", "uncertain_heads", "margin", "reviewed_at"),
    *("duplicate_of", "cluster_id"),
)
EVENT_COLUMNS = ("ticket_id", "type", "at", "actor", "department")
CORRECTION_COLUMNS = (
    *("ticket_id", "at", "actor", "model_version", "predicted", "category", "department", "labels"),
    *("changed", "new_label"),
)
RETURN_COLUMNS = ("ticket_id", "at", "department", "actor", "reason", "routed_to")
BAND_COLUMNS = ("ticket_id", "band", "hash")


@dataclass(frozen=True)
class Base:
    """One real message as intake stored it: masked text, prediction and bands."""

    text: str
    masked: str
    prediction: dict[str, Any]
    prediction_json: str
    review: dict[str, Any]
    bands: list[int]

    def label(self, head: str) -> str:
        return str(self.prediction[head]["label"])

    def labels(self) -> dict[str, str]:
        """Every head's label, as a ticket stores them (triage.service.tickets.labels_of)."""
        return labels_of(self.prediction)


def routed(texts: Sequence[str], model: Any, version: str) -> list[Base]:
    """Each text routed once by the model, with what intake derives from the prediction."""
    out = []
    for text, prediction in zip(texts, model.route_many([{"text": t} for t in texts]), strict=True):
        prediction = {**prediction, "model_version": version}
        masked = mask(normalize(text))
        grams = repeats.shingles(masked)
        out.append(
            Base(
                text=text,
                masked=masked,
                prediction=prediction,
                prediction_json=json.dumps(prediction, ensure_ascii=False),
                review=review_fields(prediction, 0.02),
                bands=repeats.band_hashes(grams) if grams else [],
            )
        )
    return out


def timeline(n: int, now: datetime) -> list[datetime]:
    """N increasing times over the last year: the density swings +-40% over the week and
    +-30% over the seasons (a monotone warp of evenly spaced points, so ids follow time)."""
    u = (np.arange(n) + 0.5) / n
    weekly, seasonal = 2 * math.pi * 52, 2 * math.pi
    warped = u + 0.4 * np.sin(weekly * u) / weekly + 0.3 * np.sin(seasonal * u) / seasonal
    start = now - timedelta(days=DAYS)
    seconds = warped * DAYS * 86400
    return [start + timedelta(seconds=float(s)) for s in seconds]


class Codes:
    """Valid, distinct query codes, fast (secrets is not needed for a benchmark)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.seen: set[str] = set()

    def __next__(self) -> str:
        while True:
            value = self.rng.getrandbits(70)
            body = "".join(ALPHABET[(value >> (5 * i)) & 31] for i in range(14))
            raw = body + check_symbol(body)
            if raw not in self.seen:
                self.seen.add(raw)
                return "-".join(raw[i : i + 5] for i in range(0, 15, 5))


def plan(n: int, base: list[Base], now: datetime, seed: int = 12) -> tuple[np.ndarray, list[datetime], int]:
    """Which base message each ticket is (-1: a near-duplicate of the flood) and when it came."""
    rng = np.random.default_rng(seed)
    weights = 1 / np.arange(1, len(base) + 1) ** 0.5  # some topics far more common than others
    which = rng.permutation(len(base))[rng.choice(len(base), size=n, p=weights / weights.sum())]
    times = timeline(n, now)
    month = now - timedelta(days=30)
    recent = [i for i, t in enumerate(times) if t >= month]
    flood = min(5000, n // 200)
    which[rng.choice(recent, size=min(flood, len(recent)), replace=False)] = -1
    return which, times, flood


def flood_base(base: list[Base]) -> Base:
    """The complaint re-sent thousands of times: a long, confident, non-`other` one."""
    fit = [b for b in base if b.label("category") != "other" and not b.prediction["needs_review"]]
    return max(fit, key=lambda b: (len(b.masked), b.masked))


def rows(n: int, base: list[Base], now: datetime, seed: int = 12) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """(table, row) for every ticket and what hangs off it, in id order."""
    which, times, _ = plan(n, base, now, seed)
    rng = random.Random(seed)
    codes = Codes(seed)
    original = flood_base(base)
    first_flood: int | None = None
    categories = sorted({b.label("category") for b in base})
    for i, (index, created) in enumerate(zip(which.tolist(), times, strict=True)):
        tid = i + 1
        age = (now - created) / timedelta(days=1)
        b = original if index < 0 else base[index]
        text, masked, bands = b.text, b.masked, b.bands
        duplicate_of = cluster_id = None
        if index < 0:
            text = f"{b.text}，第{tid}号再次反映，请尽快处理"
            masked = mask(normalize(text))
            bands = repeats.band_hashes(repeats.shingles(masked))
            first_flood = first_flood or tid
            cluster_id = first_flood
            duplicate_of = first_flood if first_flood != tid else None
        closed = index >= 0 and rng.random() < (0.97 if age > 30 else age / 30 * 0.9)
        closed_at = created + timedelta(hours=min(rng.expovariate(1 / 72), age * 24)) if closed else None
        status = "closed" if closed else rng.choice(OPEN)
        reason = b.review["review_reason"]
        returned = index >= 0 and rng.random() < 0.01
        if returned:
            reason = "returned"
        reviewed = reason is not None and age > 14
        reviewed_at = created + timedelta(days=1) if reviewed else None
        category, department = b.label("category"), b.label("department")
        changed = ""
        if reviewed and rng.random() < 0.1:
            category, changed = rng.choice(categories), "category"
            changed = "" if category == b.label("category") else changed
        labels = json.dumps({**b.labels(), "category": category}, ensure_ascii=False)
        yield (
            "tickets",
            (
                tid,
                next(codes),
                created,
                closed_at or reviewed_at or created,
                rng.choice(CHANNELS),
                text,
                masked,
                f"13{rng.randrange(10**9):09d}" if rng.random() < 0.6 else None,
                status,
                category,
                department,
                labels,
                b.prediction_json,
                b.prediction["model_version"],
                bool(b.prediction["needs_review"]),
                float(b.prediction["category"]["confidence"]),
                created + timedelta(days=10),
                closed_at,
                reason,
                b.review["uncertain_heads"],
                b.review["margin"],
                reviewed_at,
                duplicate_of,
                cluster_id,
            ),
        )
        yield "ticket_events", (tid, "received", created, "intake", department)
        if closed_at:
            yield "ticket_events", (tid, "closed", closed_at, "staff", department)
        if reviewed_at:
            predicted = json.dumps(b.labels(), ensure_ascii=False)
            yield (
                "corrections",
                (
                    tid,
                    reviewed_at,
                    "reviewer",
                    b.prediction["model_version"],
                    predicted,
                    category,
                    department,
                    labels,
                    changed,
                    False,
                ),
            )
        if returned:
            yield (
                "returns",
                (tid, created + timedelta(hours=2), department, "dept", "不属于本部门", department),
            )
        for band, value in enumerate(bands):
            yield "ticket_bands", (tid, band, value)


COLUMNS = {
    "tickets": TICKET_COLUMNS,
    "ticket_events": EVENT_COLUMNS,
    "corrections": CORRECTION_COLUMNS,
    "returns": RETURN_COLUMNS,
    "ticket_bands": BAND_COLUMNS,
}


def _sqlite_value(value: Any) -> Any:
    # SQLAlchemy's SQLite DateTime stores naive UTC text in this format.
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def load(
    engine: sa.Engine, stream: Iterator[tuple[str, tuple[Any, ...]]], chunk: int = 50_000
) -> dict[str, int]:
    """Bulk-write the rows: COPY on PostgreSQL, executemany on SQLite, tickets before what
    refers to them, ``chunk`` tickets at a time."""
    counts = dict.fromkeys(COLUMNS, 0)
    write = _copy_rows if engine.dialect.name == "postgresql" else _insert
    raw = engine.raw_connection()
    try:
        buffers: dict[str, list[tuple[Any, ...]]] = {name: [] for name in COLUMNS}
        for table, row in stream:
            buffers[table].append(row)
            counts[table] += 1
            if len(buffers["tickets"]) >= chunk:
                _flush(raw, buffers, write)
        _flush(raw, buffers, write)
    finally:
        raw.close()
    return counts


def _flush(raw: Any, buffers: dict[str, list[tuple[Any, ...]]], write: Any) -> None:
    for table, pending in buffers.items():  # COLUMNS order: tickets first
        if pending:
            write(raw, table, pending)
        pending.clear()
    raw.commit()


def _copy_rows(raw: Any, table: str, pending: list[tuple[Any, ...]]) -> None:
    cursor = raw.cursor()
    with cursor.copy(f"COPY {table} ({', '.join(COLUMNS[table])}) FROM STDIN") as copy:
        for row in pending:
            copy.write_row(row)
    cursor.close()


def _insert(raw: Any, table: str, pending: list[tuple[Any, ...]]) -> None:
    names = COLUMNS[table]
    cursor = raw.cursor()
    cursor.executemany(
        f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
        [tuple(_sqlite_value(v) for v in row) for row in pending],
    )
    cursor.close()


def finish(engine: sa.Engine) -> None:
    """Sequences past the seeded ids, the daily rollups (COPY bypasses the ORM that keeps
    them), and planner statistics (as autovacuum would have)."""
    from triage.storage.rollups import rebuild

    started = time.perf_counter()
    with engine.begin() as conn:
        rows = rebuild(conn)
    print(f"rollups rebuilt: {rows} rows in {time.perf_counter() - started:.0f} s", flush=True)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in COLUMNS:
                if table != "ticket_bands":
                    sequence = f"pg_get_serial_sequence('{table}', 'id')"
                    conn.execute(sa.text(f"SELECT setval({sequence}, (SELECT max(id) FROM {table}))"))
            conn.execute(sa.text("VACUUM ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(sa.text("ANALYZE"))


def fill_words(engine: sa.Engine) -> int:
    """The words hotspots read (ticket_words), as intake stores them: filled after the
    tickets, through the service's own backfill (each distinct text segmented once)."""
    from pathlib import Path

    from triage.service.words import Words, fill

    started = time.perf_counter()
    done = fill(engine, Words.load(Path(__file__).resolve().parent.parent / "data"))
    print(f"words stored for {done} tickets in {time.perf_counter() - started:.0f} s", flush=True)
    return done
