"""What linking repeat complaints adds to intake, with many stored tickets: seeds N tickets
(bulk insert, with their LSH bands) into a temporary SQLite file, or a temporary schema of
a PostgreSQL database, then times ticket intake (routing excluded, the commit included)
with and without linking, interleaved. The difference of the medians is the figure.

    .venv/bin/python -m benchmarks.repeats [--tickets 100000] [--repeat 500]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from benchmarks.harness import pg_schema, texts  # noqa: E402
from triage.engine.text import prepare  # noqa: E402
from triage.service import repeats  # noqa: E402
from triage.service import tickets as svc  # noqa: E402
from triage.service.codes import new_code  # noqa: E402
from triage.storage import Database, upgrade  # noqa: E402
from triage.storage.schema import Ticket, TicketBand  # noqa: E402

CATEGORIES = ["queue_waiting", "appointment", "food_license", "tax", "social_security", "other"]
STATUSES = ["received", "dispatched", "accepted", "replied"] + ["closed"] * 6  # most are closed


def varied(base: list[str], rng: random.Random) -> str:
    """The start of one real message and the end of another, and a number: realistic
    characters and lengths, and (nearly) every text its own, as in real intake."""
    a, b = rng.choice(base), rng.choice(base)
    return f"{a[: len(a) // 2]}{b[len(b) // 2 :]}，编号{rng.randrange(10**6)}"


def prediction(category: str) -> dict:
    head = {"label": category, "confidence": 0.9, "alternatives": [], "needs_review": False}
    other = {**head, "label": "service_center"}
    return {
        "category": head,
        "department": other,
        "kind": {**head, "label": "complaint"},
        "needs_review": False,
        "model_version": "bench",
    }


def seed(db: Database, n: int, base: list[str], now: datetime, rng: random.Random) -> list[tuple[str, str]]:
    """N tickets over the last 60 days, bulk inserted with their bands; returns the text and
    category of the recent open ones (re-submission material)."""
    open_texts: list[tuple[str, str]] = []
    chunk = 5000
    with db.session() as session:
        for start in range(1, n + 1, chunk):
            rows, bands = [], []
            for tid in range(start, min(n + 1, start + chunk)):
                text = varied(base, rng)
                masked = prepare(text)
                category, status = rng.choice(CATEGORIES), rng.choice(STATUSES)
                created = now - timedelta(seconds=rng.randrange(60 * 86400))
                rows.append(
                    {
                        "id": tid,
                        "code": new_code(),
                        "created_at": created,
                        "updated_at": created,
                        "channel": "web",
                        "text": text,
                        "text_masked": masked,
                        "status": status,
                        "category": category,
                        "department": "service_center",
                        "labels": {"category": category, "department": "service_center", "kind": "complaint"},
                        "prediction": {},
                        "needs_review": False,
                        "confidence": 0.9,
                        "due_at": created + timedelta(days=14),
                        "margin": 1.0,
                        "uncertain_heads": "",
                    }
                )
                hashes = repeats.band_hashes(repeats.shingles(masked))
                bands.extend({"ticket_id": tid, "band": i, "hash": h} for i, h in enumerate(hashes))
                if status != "closed" and created > now - timedelta(days=25):
                    open_texts.append((text, category))
            session.execute(sa.insert(Ticket), rows)
            session.execute(sa.insert(TicketBand), bands)
            session.commit()
        if db.engine.dialect.name == "postgresql":
            session.execute(sa.text("SELECT setval('tickets_id_seq', (SELECT max(id) FROM tickets))"))
            session.execute(sa.text("ANALYZE"))
            session.commit()
    return open_texts


def plan(db: Database) -> str:
    """How the database finds candidates (it must be the (band, hash) index, not a scan)."""
    since = datetime.now(UTC) - timedelta(days=30)
    values = {f"h{i}": i for i in range(repeats.BANDS)} | {"category": "tax", "since": since}
    query = repeats.candidate_query().params(values)
    sql = str(query.compile(db.engine, compile_kwargs={"literal_binds": True}))
    prefix = "EXPLAIN QUERY PLAN " if db.engine.dialect.name == "sqlite" else "EXPLAIN "
    with db.engine.connect() as conn:
        rows = [str(row[-1]).strip() for row in conn.execute(sa.text(prefix + sql))]
    # Only how each table is read; SQLite and PostgreSQL repeat the index search per band.
    scans = (r.removeprefix("->").strip() for r in rows if re.search(r"SEARCH|SCAN|Scan", r))
    return "\n    ".join(dict.fromkeys(re.sub(r"\s+\(cost=.*", "", r) for r in scans))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(url: str, n: int, repeat: int) -> None:
    rng = random.Random(7)
    base = texts()
    upgrade(url)
    db = Database(url)
    now = datetime.now(UTC)
    t = time.perf_counter()
    open_texts = seed(db, n, base, now, rng)
    print(f"{db.engine.dialect.name}: seeded {n} tickets in {time.perf_counter() - t:.0f} s")
    print(f"  candidate lookup plan:\n    {plan(db)}")
    policy = repeats.RepeatPolicy()
    timings: dict[str, list[float]] = {
        "unlinked": [],
        "linked": [],
        "linked, new texts": [],
        "linked, re-submissions": [],
    }
    linked = 0
    with db.session() as session:
        for i in range(repeat * 2):
            mode = "linked" if i % 2 else "unlinked"
            # One in five re-submits a stored open ticket (the verify-and-link path runs).
            again = i % 10 < 2
            text, category = rng.choice(open_texts) if again else (varied(base, rng), rng.choice(CATEGORIES))
            if again:
                text += "，再次反映，至今没有答复"
            start = time.perf_counter()
            ticket = svc.create_ticket(
                session,
                text=text,
                title=None,
                channel="web",
                contact={},
                prediction=prediction(category),
                days=10,
                tz="Asia/Shanghai",
                repeats=policy if mode == "linked" else None,
            )
            took = (time.perf_counter() - start) * 1000
            timings[mode].append(took)
            if mode == "linked":
                timings["linked, re-submissions" if again else "linked, new texts"].append(took)
            linked += ticket.duplicate_of is not None
    p50 = {m: statistics.median(v) for m, v in timings.items()}
    for mode, values in timings.items():
        print(f"  intake, {mode:<23} p50 {p50[mode]:.2f} ms  p99 {percentile(values, 0.99):.2f} ms")
    print(
        f"  linking adds {p50['linked'] - p50['unlinked']:+.2f} ms at the median "
        f"({linked} of {repeat} linked; {repeat // 5} were re-submissions)"
    )
    db.dispose()


@contextmanager
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000, help="tickets stored first")
    parser.add_argument("--repeat", type=int, default=500, help="timed intakes per mode")
    parser.add_argument("--database-url", help="also run on this PostgreSQL database")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{Path(tmp) / 'bench.db'}", args.tickets, args.repeat)
    if args.database_url:
        with pg_schema(args.database_url, prefix="bench") as url:
            run(url, args.tickets, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
