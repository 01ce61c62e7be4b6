"""Fault drill: kill -9 in the middle of a burst of POST /v1/tickets, then check that every
ticket answered 201 exists with its text intact. Two faults: the whole server (master and
workers at once, then a restart) and one worker (gunicorn replaces it). SQLite, and
PostgreSQL in a throwaway schema of the local cluster. Prints PASS/FAIL with figures; exits
non-zero on any FAIL.

    .venv/bin/python -m benchmarks.fault_kill [--database sqlite,postgresql] [--tickets 300]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import sys
import tempfile
import threading
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from .harness import Client, Server, make_key, model_env, pg_schema, texts


def burst(
    server: Server, key: str, total: int, concurrency: int, kill_after: int, fault: str
) -> dict[str, Any]:
    """Post ``total`` tickets from ``concurrency`` threads; after ``kill_after`` 201s, kill.
    Returns the acknowledged {code: text} and counts."""
    pool = texts()
    acked: dict[str, str] = {}
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    killed = threading.Event()
    counter = iter(range(total))

    def kill() -> None:
        if fault == "server":
            server.kill9()
        else:
            os.kill(server.worker_pids()[0], signal.SIGKILL)
        killed.set()

    def worker() -> None:
        client = Client(server.port, {"Authorization": f"Bearer {key}"}, timeout=15)
        failures_after_kill = 0
        for i in counter:
            # A unique tag per ticket, so the check below can tell texts apart.
            text = f"{pool[i % len(pool)]}（演练{i:05d}-{secrets.token_hex(3)}）"
            status, body, _ = client.call("POST", "/v1/tickets", {"text": text, "channel": "web"})
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
                if status == 201:
                    acked[body["code"]] = text
                    if len(acked) == kill_after and not killed.is_set():
                        kill()
            if status != 201 and killed.is_set():
                failures_after_kill += 1
                if fault == "server" and failures_after_kill >= 3:
                    break  # the server is gone; nothing more will be acknowledged
                time.sleep(0.05)
        client.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    return {
        "acked": acked,
        "statuses": statuses,
        "killed": killed.is_set(),
        "seconds": time.monotonic() - started,
    }


def verify(server: Server, reviewer: str, acked: dict[str, str]) -> dict[str, int]:
    client = Client(server.port, {"Authorization": f"Bearer {reviewer}"})
    missing = changed = 0
    for code, text in acked.items():
        status, body, _ = client.call("GET", f"/v1/tickets/{code}/full")
        if status != 200:
            missing += 1
        elif body["text"] != text:
            changed += 1
    client.close()
    return {"missing": missing, "text_changed": changed}


def stored(env: dict[str, str]) -> dict[str, Any]:
    """Tickets in the database (a 201 lost on the wire may leave one more than acknowledged)."""
    import sqlalchemy as sa

    url = env.get("TRIAGE_DATABASE_URL") or f"sqlite:///{Path(env['TRIAGE_INSTANCE_DIR']) / 'triage.db'}"
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            out: dict[str, Any] = {"stored": conn.execute(sa.text("SELECT count(*) FROM tickets")).scalar()}
            if url.startswith("sqlite"):
                out["integrity"] = conn.execute(sa.text("PRAGMA integrity_check")).scalar()
    finally:
        engine.dispose()
    return out


def drill(env: dict[str, str], fault: str, tickets: int = 300, concurrency: int = 8) -> dict[str, Any]:
    """One drill; ``env`` holds TRIAGE_MODEL, TRIAGE_INSTANCE_DIR and maybe a database URL."""
    full_env = {**os.environ, **env}
    intake, reviewer = make_key(full_env, "intake"), make_key(full_env, "reviewer")
    server = Server(env).start()
    try:
        run = burst(server, intake, tickets, concurrency, kill_after=tickets // 3, fault=fault)
        if fault == "server":
            restart = time.monotonic()
            server.start()
            run["restart_s"] = round(time.monotonic() - restart, 2)
        else:
            server.wait_ready(60)
        run.update(verify(server, reviewer, run["acked"]))
    finally:
        server.stop()
    run.update(stored(env))
    acked = run.pop("acked")
    run["acknowledged"] = len(acked)
    run["passed"] = bool(
        run["killed"]
        and acked
        and run["missing"] == 0
        and run["text_changed"] == 0
        and run.get("integrity", "ok") == "ok"
        and 500 not in run["statuses"]
    )
    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="sqlite,postgresql")
    parser.add_argument("--fault", default="server,worker")
    parser.add_argument("--tickets", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args(argv)
    failed = 0
    with tempfile.TemporaryDirectory(prefix="triage-drill-") as tmp:
        model = model_env(Path(tmp) / "models")
        for database in args.database.split(","):
            for fault in args.fault.split(","):
                instance = Path(tmp) / f"{database}-{fault}"
                env = {**model, "TRIAGE_INSTANCE_DIR": str(instance)}
                with pg_schema() if database == "postgresql" else nullcontext() as url:
                    if url:
                        env["TRIAGE_DATABASE_URL"] = url
                    result = drill(env, fault, args.tickets, args.concurrency)
                verdict = "PASS" if result["passed"] else "FAIL"
                failed += not result["passed"]
                print(f"{verdict} kill -9 {fault} on {database}: {json.dumps(result)}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
