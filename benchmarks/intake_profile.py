"""What one intake costs on a seeded database (benchmarks.scale --keep): in one process, the
app's `POST /v1/tickets` is called for new texts and for near-duplicates of the seeded flood
complaint; per kind it prints the median request time, the CPU seconds per request of this
process and of the database's backends (PostgreSQL; read from /proc, so counted whatever
else the machine runs), the statements each request sends and their median times.

    .venv/bin/python -m benchmarks.intake_profile URL [--calls 20] [--model DIR]

The CPU columns are the figures to compare on a busy machine: wall times there are mostly
waiting for a core. The requests add tickets to the database.
"""

from __future__ import annotations

import argparse
import collections
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from .harness import model_env, texts
from .scale import flood_text

TICK = os.sysconf("SC_CLK_TCK")


class Recorder:
    """Every statement's time, and the database backends' process ids."""

    def __init__(self) -> None:
        self.on = False
        self.times: dict[str, list[float]] = collections.defaultdict(list)
        self.backends: set[int] = set()
        event.listen(sa.engine.Engine, "before_cursor_execute", self._before)
        event.listen(sa.engine.Engine, "after_cursor_execute", self._after)
        event.listen(sa.engine.Engine, "connect", self._connect)

    def _before(self, conn: Any, *_: Any) -> None:
        conn.info.setdefault("started", []).append(time.perf_counter())

    def _after(self, conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        took = time.perf_counter() - conn.info["started"].pop()
        if self.on:
            self.times[" ".join(statement.split())].append(took)

    def _connect(self, dbapi_connection: Any, _record: Any) -> None:
        pid = getattr(getattr(dbapi_connection, "info", None), "backend_pid", None)
        if pid:
            self.backends.add(int(pid))

    def backend_cpu(self) -> float:
        total = 0
        for pid in self.backends:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # another machine's server, or gone
                continue
            total += int(fields[11]) + int(fields[12])
        return total / TICK


def run(client: Any, rec: Recorder, kind: str, bodies: list[str]) -> None:
    rec.times.clear()
    walls = []
    rec.on = True
    cpu, db = time.process_time(), rec.backend_cpu()
    for text in bodies:
        started = time.perf_counter()
        r = client.post("/v1/tickets", json={"text": text, "channel": "web"})
        walls.append(time.perf_counter() - started)
        if r.status_code != 201:
            raise RuntimeError(f"POST /v1/tickets: {r.status_code} {r.get_data(as_text=True)[:300]}")
    rec.on = False
    n = len(bodies)
    cpu, db = (time.process_time() - cpu) / n, (rec.backend_cpu() - db) / n
    sent = sum(len(v) for v in rec.times.values()) / n
    print(
        f"{kind}: median {statistics.median(walls) * 1000:.1f} ms a request (load {os.getloadavg()[0]:.1f});"
        f" CPU a request: this process {cpu * 1000:.1f} ms, database {db * 1000:.1f} ms;"
        f" {sent:.1f} statements a request",
        flush=True,
    )
    for statement, took in sorted(rec.times.items(), key=lambda kv: -sum(kv[1])):
        print(f"  {len(took):4d} x {statistics.median(took) * 1000:6.2f} ms  {statement[:110]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="a seeded database (the URL benchmarks.scale --keep printed)")
    parser.add_argument("--calls", type=int, default=20, help="intakes of each kind")
    parser.add_argument("--model", help="model folder (default: TRIAGE_MODEL, else a default model trained)")
    args = parser.parse_args(argv)
    if args.calls < 1:
        parser.error("--calls must be at least 1")
    from triage.web import create_app

    rec = Recorder()
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model or model_env(Path(tmp) / "models")["TRIAGE_MODEL"]
        config = {"database_url": args.url, "model": model, "instance_dir": tmp}
        config |= {"secret_key": "intake-profile-" + "x" * 20, "open_intake": True}
        app = create_app(config)
        try:
            client = app.test_client()
            for text in texts(3, seed=5):  # warm: caches, prepared statements
                client.post("/v1/tickets", json={"text": text, "channel": "web"})
            run(client, rec, "new texts", texts(args.calls, seed=99))
            flood = flood_text(args.url)
            if flood:
                run(client, rec, "the flood re-sent", [f"{flood}，又一次反映{i}" for i in range(args.calls)])
        finally:
            app.extensions["triage.models"].stop()
            app.extensions["triage.db"].dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
