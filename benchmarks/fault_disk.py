"""Fault drill: SQLite on a full disk or a read-only instance folder.

- full: the instance folder is a small tmpfs, filled up while the service runs. Intake must
  answer 507 (problem+json, no traceback) or 201, every 201 must be stored and nothing else;
  lookups and other endpoints keep working, no worker dies; when space returns, intake
  resumes without a restart.
- read-only database: the service opens its database read-only (`mode=ro`); intake must get
  503 problem responses, lookups 200, and nothing is stored.
- read-only folder at start: `triage serve` must refuse with one sentence, no traceback.

Needs root (mount). Prints PASS/FAIL with figures; exits non-zero on FAIL.

    .venv/bin/python -m benchmarks.fault_disk [--tickets 150]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .harness import PYTHON, ROOT, Client, Server, make_key, model_env, texts


@contextmanager
def tmpfs(size_mb: int) -> Any:
    folder = Path(tempfile.mkdtemp(prefix="triage-disk-"))
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}M", "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)
        folder.rmdir()


def fill(folder: Path) -> int:
    """Write a filler file until the file system is full; its size in bytes."""
    written = 0
    with open(folder / "filler", "wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
                written += 65536
        except OSError:
            pass
    return written


def submit(port: int, key: str, count: int, tag: str, threads: int = 4) -> dict[str, Any]:
    """Post ``count`` long tickets; {statuses, acked: {code: text}, bad: [...]}"""
    pool = texts()
    acked: dict[str, str] = {}
    statuses: dict[str, int] = {}
    bad: list[str] = []
    lock = threading.Lock()
    numbers = iter(range(count))

    def worker() -> None:
        client = Client(port, {"Authorization": f"Bearer {key}"}, timeout=30)
        for i in numbers:
            text = f"{tag}{i:04d} " + "".join(pool[(i + k) % len(pool)] for k in range(8))[:3000]
            status, body, _ = client.call("POST", "/v1/tickets", {"text": text})
            with lock:
                statuses[str(status)] = statuses.get(str(status), 0) + 1
                if status == 201:
                    acked[body["code"]] = text
                elif not (isinstance(body, dict) and body.get("status") == status and status in (503, 507)):
                    bad.append(f"{status} {str(body)[:160]}")
        client.close()

    pool_threads = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool_threads:
        t.start()
    for t in pool_threads:
        t.join(timeout=300)
    return {"statuses": statuses, "acked": acked, "bad": bad}


def stored(db: Path) -> dict[str, Any]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = dict(conn.execute("SELECT code, text FROM tickets"))
        orphans = conn.execute(
            "SELECT count(*) FROM tickets t WHERE NOT EXISTS "
            "(SELECT 1 FROM ticket_events e WHERE e.ticket_id = t.id AND e.type = 'received')"
        ).fetchone()[0]
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()
    return {"rows": rows, "without_first_event": orphans, "integrity": integrity}


def survey(port: int, key: str) -> dict[str, int]:
    """Endpoints never called before the disk filled (new metric labels): 0 = no answer."""
    client = Client(port, {"Authorization": f"Bearer {key}"})
    paths = ("/healthz", "/readyz", "/metrics", "/v1/model", "/nope", "/v1/tickets/X")
    out = {path: client.call("GET", path)[0] for path in paths}
    client.close()
    return out


def tracebacks(server: Server) -> int:
    return server.log_tail(10**8).count("Traceback")


def disk_full(model: dict[str, str], tickets: int, scratch: Path) -> dict[str, Any]:
    with tmpfs(12) as folder:
        env = {**model, "TRIAGE_INSTANCE_DIR": str(folder), "TRIAGE_LOOKUP_RATE_LIMIT": "100000 per minute"}
        key = make_key({**os.environ, **env}, "intake")
        with Server(env, log_path=scratch / "serve-full.log") as server:
            before = submit(server.port, key, 20, "满前")
            pids = server.worker_pids()
            filler = fill(folder)
            during = submit(server.port, key, tickets, "满时")
            code = next(iter(before["acked"]), "X")
            lookup = Client(server.port).call("GET", f"/v1/tickets/{code}")[0]
            others = survey(server.port, key)
            workers_replaced = sorted(set(pids) - set(server.worker_pids()))
            (folder / "filler").unlink()
            after = submit(server.port, key, 20, "满后")
            traces = tracebacks(server)
        db = stored(folder / "triage.db")
    acked = {**before["acked"], **during["acked"], **after["acked"]}
    return {
        "filler_mb": round(filler / 2**20, 1),
        "before": before["statuses"],
        "during": during["statuses"],
        "lookup_while_full": lookup,
        "other_endpoints_while_full": others,
        "workers_replaced": workers_replaced,
        "after_space_freed": after["statuses"],
        "bad_responses": during["bad"][:5] + after["bad"][:5],
        "acknowledged": len(acked),
        "stored": len(db["rows"]),
        "acknowledged_missing_or_changed": sum(db["rows"].get(c) != t for c, t in acked.items()),
        "stored_not_acknowledged": len(set(db["rows"]) - set(acked)),
        "without_first_event": db["without_first_event"],
        "integrity": db["integrity"],
        "tracebacks_in_log": traces,
        "passed": bool(
            during["statuses"].get("507")
            and not during["bad"]
            and lookup == 200
            and 0 not in others.values()
            and not workers_replaced
            and after["statuses"] == {"201": 20}
            and all(db["rows"].get(c) == t for c, t in acked.items())
            and set(db["rows"]) == set(acked)
            and db["without_first_event"] == 0
            and db["integrity"] == "ok"
            and traces == 0
        ),
    }


def read_only_database(model: dict[str, str], tickets: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="triage-ro-") as tmp:
        instance = Path(tmp)
        env = {**model, "TRIAGE_INSTANCE_DIR": str(instance), "TRIAGE_LOOKUP_RATE_LIMIT": "100000 per minute"}
        key = make_key({**os.environ, **env}, "intake")
        with Server(env) as server:
            code = next(iter(submit(server.port, key, 1, "只读前")["acked"]), "X")
        db = instance / "triage.db"
        env["TRIAGE_DATABASE_URL"] = f"sqlite:///file:{db}?mode=ro&uri=true"
        with Server(env, log_path=instance / "serve-ro.log") as server:
            during = submit(server.port, key, tickets, "只读时")
            lookup = Client(server.port).call("GET", f"/v1/tickets/{code}")[0]
            traces = tracebacks(server)
        rows = stored(db)["rows"]
    return {
        "during": during["statuses"],
        "bad_responses": during["bad"][:5],
        "lookup": lookup,
        "stored_while_read_only": len(rows) - 1,
        "tracebacks_in_log": traces,
        "passed": bool(
            during["statuses"] == {"503": tickets} and lookup == 200 and len(rows) == 1 and traces == 0
        ),
    }


def read_only_folder_at_start(model: dict[str, str]) -> dict[str, Any]:
    with tmpfs(8) as folder:
        env = {**os.environ, **model, "TRIAGE_INSTANCE_DIR": str(folder)}
        make_key(env, "intake")  # a database exists, then the folder turns read-only
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        done = subprocess.run(
            [PYTHON, "-m", "triage", "serve", "--port", "1"],  # never reached
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
    last = (done.stderr.strip().splitlines() or [""])[-1]
    return {
        "exit_code": done.returncode,
        "message": last,
        "passed": done.returncode != 0 and "Traceback" not in done.stderr and last.startswith("triage:"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=150, help="tickets sent while full / read-only")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("FAIL fault_disk needs root to mount a small tmpfs")
        return 1
    failed = 0
    with tempfile.TemporaryDirectory(prefix="triage-drill-") as tmp:
        model = model_env(Path(tmp) / "models")
        for name, run in (
            ("disk full", lambda: disk_full(model, args.tickets, Path(tmp))),
            ("read-only database", lambda: read_only_database(model, args.tickets)),
            ("read-only folder at start", lambda: read_only_folder_at_start(model)),
        ):
            result = run()
            failed += not result["passed"]
            verdict = "PASS" if result["passed"] else "FAIL"
            print(f"{verdict} {name}: {json.dumps(result, ensure_ascii=False)}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
