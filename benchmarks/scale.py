"""Staff views and intake with a year of tickets stored: seeds N tickets straight into the
database (benchmarks/scale_seed.py plans real intake rows replicated over 365 days, with a
month holding thousands of near-duplicates of one complaint; benchmarks/scale_load.py has
the database write them), then times every staff endpoint and intake under `triage serve`
(two sync workers), the median of three calls each, and the workers' memory while the
export streams.

    .venv/bin/python -m benchmarks.scale --rows 1000000 [--sqlite]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test] [--keep] [--reuse URL]
        [--export-seconds 120]

PostgreSQL gets a throwaway schema (kept with --keep, to time it again with --reuse URL).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .harness import PG_URL, Client, Server, make_key, model_env, pg_schema, rss_mb, texts

CALLS = 3
INTAKES = 15  # per kind of intake (new texts, re-sent flood complaint)


def seed(url: str, n: int, model_path: str) -> dict[str, Any]:
    """N tickets in the database at ``url`` (migrated first); what the timings need."""
    import sqlalchemy as sa

    from triage.engine.persist import load_model
    from triage.storage import upgrade
    from triage.storage.db import make_engine

    from . import scale_load, scale_seed

    upgrade(url)
    now = datetime.now(UTC)
    model = load_model(model_path)
    started = time.perf_counter()
    base = scale_seed.routed(texts(), model, getattr(model, "version_", "bench"))
    planned = scale_seed.plan(n, base, now)
    print(f"  routed {len(base)} messages and planned {n} tickets: {time.perf_counter() - started:.0f} s")
    engine = make_engine(url)
    try:
        counts, restore = scale_load.load(engine, planned)
        scale_load.finish(engine, restore)
        with engine.connect() as conn:
            stored = conn.scalar(sa.text("SELECT count(*) FROM tickets"))
    finally:
        engine.dispose()
    took = time.perf_counter() - started
    print(f"seeded {stored} tickets in {took:.0f} s ({', '.join(f'{k} {v}' for k, v in counts.items())})")
    return {"flood": scale_seed.flood_base(base).text}


def flood_text(url: str) -> str | None:
    """The text that opened the largest repeat cluster of a seeded database, after
    finishing the indexes and keys a stopped seeding left undone."""
    import sqlalchemy as sa

    from triage.storage.db import make_engine

    from . import scale_load

    engine = make_engine(url)
    try:
        left = scale_load.pending(engine)
        if left is not None:
            print(f"  finishing the seeding: {len(left)} indexes and keys left", flush=True)
            scale_load.finish(engine, left)
        with engine.connect() as conn:
            return conn.scalar(
                sa.text(
                    "SELECT text FROM tickets WHERE id = (SELECT cluster_id FROM tickets WHERE cluster_id"
                    " IS NOT NULL GROUP BY cluster_id ORDER BY count(*) DESC LIMIT 1)"
                )
            )
    finally:
        engine.dispose()


@contextlib.contextmanager
def database(args: argparse.Namespace, work: Path) -> Iterator[tuple[str, bool]]:
    """(URL, whether it needs seeding)."""
    if args.reuse:
        yield args.reuse, False
    elif args.sqlite:
        path = (Path(args.keep_dir) if args.keep else work) / f"scale-{args.rows}.db"
        yield f"sqlite:///{path}", True
    elif args.keep:
        import secrets

        import sqlalchemy as sa

        schema = f"scale_{secrets.token_hex(4)}"
        engine = sa.create_engine(args.database_url)
        with engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        engine.dispose()
        yield f"{args.database_url}?options=-csearch_path%3D{schema}", True
    else:
        with pg_schema(args.database_url, prefix="scale") as url:
            yield url, True


def median_of(client: Client, path: str, calls: int = CALLS) -> tuple[float, Any]:
    """Median seconds of ``calls`` GETs, and the last body; a failed call ends the series
    (its status and time are printed, the body is None)."""
    times, body = [], None
    for _ in range(calls):
        status, body, took = client.call("GET", path)
        if status != 200:
            print(f"  GET {path}: status {status} after {took:.1f} s", flush=True)
            return float("nan"), None
        times.append(took)
    return statistics.median(times), body


def intake(client: Client, bodies: list[str]) -> float:
    times = []
    for text in bodies:
        status, body, took = client.call("POST", "/v1/tickets", {"text": text, "channel": "web"})
        if status != 201:
            raise RuntimeError(f"POST /v1/tickets: {status} {str(body)[:300]}")
        times.append(took)
    return statistics.median(times)


def measure(
    server: Server, reviewer: str, intake_key: str, n: int, flood: str | None, export_seconds: float | None
) -> list[tuple[str, float]]:
    staff = Client(server.port, {"Authorization": f"Bearer {reviewer}"}, timeout=300)
    month_ago = (datetime.now(UTC) - timedelta(days=30)).date().isoformat()
    deep = max(1, min(10_000, n // 50 // 2))
    out: list[tuple[str, float]] = []

    def get(label: str, path: str) -> Any:
        took, body = median_of(staff, path)
        out.append((label, took))
        print(f"  {label:<58} {took * 1000:9.0f} ms", flush=True)
        return body

    get("GET /v1/stats/summary (all time)", "/v1/stats/summary")
    get("GET /v1/stats/summary?from=<30 days ago>", f"/v1/stats/summary?from={month_ago}")
    get("GET /v1/stats/hotspots", "/v1/stats/hotspots")
    first = get("GET /v1/tickets?per_page=50", "/v1/tickets?per_page=50")
    get(f"GET /v1/tickets?per_page=50&page={deep}", f"/v1/tickets?per_page=50&page={deep}")
    if first and first.get("next_cursor"):
        cursor = quote(str(first["next_cursor"]))
        get("GET /v1/tickets?per_page=50&cursor=<next>", f"/v1/tickets?per_page=50&cursor={cursor}")
    department = first["items"][0]["department"] if first and first["items"] else "service_center"
    get(
        "GET /v1/tickets?department=<busiest>&status=received",
        f"/v1/tickets?department={department}&status=received",
    )
    get("GET /v1/review/queue?limit=50", "/v1/review/queue?limit=50")
    get("GET /v1/review/queue?limit=50&department=<d>", f"/v1/review/queue?limit=50&department={department}")

    writer = Client(server.port, {"Authorization": f"Bearer {intake_key}"}, timeout=60)
    fresh = texts(INTAKES, seed=99)
    took = intake(writer, fresh)
    out.append(("POST /v1/tickets (new texts)", took))
    print(f"  {f'POST /v1/tickets (median of {INTAKES}, new texts)':<58} {took * 1000:9.0f} ms", flush=True)
    if flood:
        again = [f"{flood}，又一次反映{i}" for i in range(INTAKES)]
        took = intake(writer, again)
        out.append(("POST /v1/tickets (near-duplicate of the flood)", took))
        print(
            f"  {f'POST /v1/tickets (median of {INTAKES}, re-sent flood)':<58} {took * 1000:9.0f} ms",
            flush=True,
        )
    export_memory(server, staff, out, export_seconds)
    return out


def export_memory(
    server: Server, staff: Client, out: list[tuple[str, float]], seconds: float | None = None
) -> None:
    """Peak RSS of the workers while streaming the export, if the endpoint exists; the
    first ``seconds`` of it if given (ten million rows take most of an hour)."""
    import http.client
    import threading

    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=600)
    conn.request("GET", "/v1/tickets/export", headers=staff.headers)
    resp = conn.getresponse()
    if resp.status != 200:  # not built yet (or refused): nothing to measure
        conn.close()
        print(f"  GET /v1/tickets/export: {resp.status}, not measured", flush=True)
        return
    peak = [max(rss_mb(p) for p in server.worker_pids())]
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.2):
            peak[0] = max([peak[0], *(rss_mb(p) for p in server.worker_pids())])

    watcher = threading.Thread(target=watch, daemon=True)
    before = peak[0]
    started = time.perf_counter()
    watcher.start()
    size = 0
    while (seconds is None or time.perf_counter() - started < seconds) and (chunk := resp.read(1 << 16)):
        size += len(chunk)
    whole = seconds is None or not resp.read(1)
    done.set()
    watcher.join()
    conn.close()
    took = time.perf_counter() - started
    out.append(("GET /v1/tickets/export", took))
    print(
        f"  GET /v1/tickets/export: status {resp.status}, {size / 1e6:.0f} MB in {took:.1f} s"
        f"{'' if whole else ' (stopped there)'}; "
        f"worker RSS {before:.0f} MB before, peak {peak[0]:.0f} MB",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="tickets to seed")
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    parser.add_argument("--database-url", default=PG_URL, help="PostgreSQL server (a throwaway schema in it)")
    parser.add_argument("--keep", action="store_true", help="keep the seeded database and print its URL")
    parser.add_argument(
        "--keep-dir", default=tempfile.gettempdir(), help="where --sqlite --keep puts the file"
    )
    parser.add_argument("--reuse", help="time this already seeded database instead of seeding one")
    parser.add_argument("--export-seconds", type=float, help="stream only this long of the export")
    args = parser.parse_args(argv)
    print("command: python -m benchmarks.scale " + " ".join(argv if argv is not None else sys.argv[1:]))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = {**model_env(work / "models"), "TRIAGE_INSTANCE_DIR": str(work / "instance")}
        with database(args, work) as (url, fresh):
            if args.keep:  # before seeding: a stopped run is resumed with it
                print(f"kept: --reuse '{url}'", flush=True)
            flood = seed(url, args.rows, env["TRIAGE_MODEL"])["flood"] if fresh else flood_text(url)
            env["TRIAGE_DATABASE_URL"] = url
            full_env = {**os.environ, **env}
            reviewer, intake_key = make_key(full_env, "reviewer"), make_key(full_env, "intake")
            kind = "SQLite" if url.startswith("sqlite") else "PostgreSQL"
            print(f"{kind}, {args.rows} tickets seeded, triage serve with 2 sync workers, median of {CALLS}:")
            with Server(env, workers=2) as server:
                measure(server, reviewer, intake_key, args.rows, flood, args.export_seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
