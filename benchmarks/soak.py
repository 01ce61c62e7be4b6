"""Soak: a steady load at a fixed rate for some minutes against `triage serve` (2 workers),
mixing POST /v1/triage, POST /v1/tickets, public GET /v1/tickets/{code} and staff listings.
Per minute: requests, errors, p50/p99 and each worker's RSS (and PSS, its fair share of pages
shared with the master under --preload). PASS needs zero errors and
worker RSS growth under 10% from the first minute to the last. Loopback only.

    .venv/bin/python -m benchmarks.soak [--minutes 5] [--rate 50] [--postgresql] [--no-preload]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import threading
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from .harness import Client, Server, make_key, model_env, percentile, pg_schema, pss_mb, rss_mb, texts

# kind -> share of the requests
MIX = {"triage": 0.40, "ticket": 0.20, "lookup": 0.25, "staff": 0.15}
EXPECTED = {"triage": 200, "ticket": 201, "lookup": 200, "staff": 200}


class Soak:
    def __init__(self, server: Server, keys: dict[str, str], rate: float, seconds: float) -> None:
        self.server, self.keys, self.rate, self.seconds = server, keys, rate, seconds
        self.pool = texts()
        self.codes: list[str] = []
        self.samples: list[tuple[float, str, int, float]] = []  # (t, kind, status, seconds)
        self.memory: list[tuple[float, dict[int, tuple[float, float]]]] = []  # (t, pid: rss, pss)
        self.errors: list[str] = []
        self.lock = threading.Lock()

    def one(self, client: Client, kind: str, rng: random.Random) -> tuple[int, Any, float]:
        text = rng.choice(self.pool)
        if kind == "triage":
            return client.call("POST", "/v1/triage", {"text": text}, self.auth("intake"))
        if kind == "ticket":
            result = client.call("POST", "/v1/tickets", {"text": text, "channel": "app"}, self.auth("intake"))
            if result[0] == 201:
                with self.lock:
                    self.codes.append(result[1]["code"])
            return result
        if kind == "lookup":
            code = rng.choice(self.codes)
            return client.call("GET", f"/v1/tickets/{code}")
        page = rng.randint(1, 3)
        return client.call("GET", f"/v1/tickets?page={page}&per_page=20", None, self.auth("reviewer"))

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}

    def run(self, threads: int = 8) -> None:
        started = time.monotonic()
        interval = threads / self.rate  # each thread keeps its own fixed pace
        kinds, weights = list(MIX), list(MIX.values())

        def worker(i: int) -> None:
            rng = random.Random(i)
            client = Client(self.server.port, timeout=30)
            due = started + i * interval / threads
            while due < started + self.seconds:
                time.sleep(max(0.0, due - time.monotonic()))
                kind = rng.choices(kinds, weights)[0]
                status, body, took = self.one(client, kind, rng)
                with self.lock:
                    self.samples.append((due - started, kind, status, took))
                    if status != EXPECTED[kind]:
                        self.errors.append(f"{kind}: {status} {str(body)[:150]}")
                due += interval
            client.close()

        pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
        for t in pool:
            t.start()
        while any(t.is_alive() for t in pool):
            mem = {pid: (rss_mb(pid), pss_mb(pid)) for pid in self.server.worker_pids()}
            self.memory.append((time.monotonic() - started, mem))
            for t in pool:
                t.join(timeout=5)

    def minutes(self) -> list[dict[str, Any]]:
        """Figures per minute (per half of the run when it is shorter than two minutes)."""
        out = []
        span = 60.0 if self.seconds >= 120 else self.seconds / 2
        for m in range(round(self.seconds / span)):
            lo, hi = span * m, span * (m + 1)
            rows = [s for s in self.samples if lo <= s[0] < hi]
            lat = [s[3] for s in rows]
            rss: dict[int, list[float]] = {}
            pss: dict[int, list[float]] = {}
            for t, sample in self.memory:
                if lo <= t < hi:
                    for pid, (r, p) in sample.items():
                        rss.setdefault(pid, []).append(r)
                        pss.setdefault(pid, []).append(p)
            out.append(
                {
                    "minute": m + 1 if span == 60 else round(hi / 60, 2),
                    "requests": len(rows),
                    "errors": sum(s[2] != EXPECTED[s[1]] for s in rows),
                    "p50_ms": round(1000 * percentile(lat, 50), 2),
                    "p99_ms": round(1000 * percentile(lat, 99), 2),
                    "worker_rss_mb": {pid: round(sum(v) / len(v), 1) for pid, v in rss.items()},
                    "worker_pss_mb": {pid: round(sum(v) / len(v), 1) for pid, v in pss.items()},
                }
            )
        return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5)
    parser.add_argument("--rate", type=float, default=50, help="requests per second, all kinds")
    parser.add_argument("--postgresql", action="store_true", help="a throwaway schema on :5432")
    parser.add_argument(
        "--preload",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="triage serve --preload / --no-preload (default: its own, preloaded)",
    )
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory(prefix="triage-soak-") as tmp,
        pg_schema() if args.postgresql else nullcontext() as url,
    ):
        env = {
            **model_env(Path(tmp) / "models"),
            "TRIAGE_INSTANCE_DIR": str(Path(tmp) / "instance"),
            "TRIAGE_LOOKUP_RATE_LIMIT": "1000000 per minute",
        }
        if url:
            env["TRIAGE_DATABASE_URL"] = url
        full = {**os.environ, **env}
        keys = {role: make_key(full, role) for role in ("intake", "reviewer")}
        with Server(env, preload=args.preload) as server:
            soak = Soak(server, keys, args.rate, 60 * args.minutes)
            seed = Client(server.port)
            for text in texts(20, seed=1):  # codes to look up from the first second
                created = seed.call("POST", "/v1/tickets", {"text": text}, soak.auth("intake"))
                soak.codes.append(created[1]["code"])
            seed.close()
            soak.run()
            pids = server.worker_pids()
        minutes = soak.minutes()
    for row in minutes:
        print(json.dumps(row), flush=True)
    first, last = minutes[0]["worker_rss_mb"], minutes[-1]["worker_rss_mb"]
    growth = {pid: round(100 * (last[pid] / first[pid] - 1), 1) for pid in first if pid in last}
    by_kind = {
        kind: round(1000 * percentile([s[3] for s in soak.samples if s[1] == kind], 99), 2) for kind in MIX
    }
    summary = {
        "requests": len(soak.samples),
        "errors": len(soak.errors),
        "first_errors": soak.errors[:5],
        "p99_ms_by_kind": by_kind,
        "worker_rss_growth_pct": growth,
        "workers_replaced": sorted(set(first) - set(pids)),
    }
    passed = (
        not soak.errors
        and bool(growth)
        and all(g < 10 for g in growth.values())
        and not summary["workers_replaced"]
    )
    print(f"{'PASS' if passed else 'FAIL'} soak {args.minutes} min at {args.rate}/s: {json.dumps(summary)}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
