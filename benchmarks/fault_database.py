"""Fault drill: the PostgreSQL server goes away under a running service and comes back.

Uses a throwaway cluster of its own (`pg_createcluster 15 faults --port 5433`, dropped at
the end; never the shared cluster on 5432). While the database is down, every request that
needs it must get 503 with Retry-After in the problem+json shape (never a 500, never a 201),
/readyz must say 503 and /healthz 200; when it returns, the service must recover by itself.
Prints PASS/FAIL with figures; exits non-zero on FAIL. Needs root (pg_ctlcluster).

    .venv/bin/python -m benchmarks.fault_database [--outage-seconds 15] [--keep-cluster]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .harness import Client, Server, make_key, model_env, request, texts

VERSION, NAME, PORT = "15", "faults", 5433
URL = f"postgresql+psycopg://postgres@127.0.0.1:{PORT}/postgres"
PROBLEM_KEYS = {"type", "title", "status", "detail"}


def pg(*args: str) -> None:
    subprocess.run(list(args), check=True, capture_output=True, timeout=120)


def cluster_exists() -> bool:
    out = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True, check=True).stdout
    return any(line.split()[:2] == [VERSION, NAME] for line in out.splitlines())


def cluster_up() -> None:
    if not cluster_exists():
        pg("pg_createcluster", VERSION, NAME, "--port", str(PORT), "--", "--auth=trust")
    pg("pg_ctlcluster", VERSION, NAME, "start")


def cluster_down() -> None:
    pg("pg_ctlcluster", VERSION, NAME, "stop", "-m", "immediate")  # as abrupt as a crash


def well_formed_503(status: int, body: Any, headers: dict[str, str]) -> bool:
    return (
        status == 503
        and bool(headers.get("Retry-After"))
        and headers.get("Content-Type", "").startswith("application/problem+json")
        and isinstance(body, dict)
        and body.keys() >= PROBLEM_KEYS
        and body["status"] == 503
    )


def outage(server: Server, intake: str, reviewer: str, code: str, seconds: float) -> dict[str, Any]:
    """Hit every kind of endpoint for ``seconds`` while the database is down."""
    calls = [
        ("tickets.create", "POST", "/v1/tickets", {"text": texts(1)[0]}, intake, True),
        ("tickets.list", "GET", "/v1/tickets", None, reviewer, True),
        ("tickets.lookup", "GET", f"/v1/tickets/{code}", None, None, True),
        ("readyz", "GET", "/readyz", None, None, True),
        ("healthz", "GET", "/healthz", None, None, False),
        ("triage", "POST", "/v1/triage", {"text": texts(2)[1]}, intake, False),
    ]
    seen: dict[str, dict[str, int]] = {}
    bad: list[str] = []
    slowest = 0.0
    stop = time.monotonic() + seconds
    while time.monotonic() < stop:
        for name, method, path, body, key, needs_db in calls:
            headers = {"Authorization": f"Bearer {key}"} if key else {}
            started = time.perf_counter()
            try:
                status, data, hdrs = request(server.port, method, path, body, headers, timeout=30)
            except OSError as exc:
                status, data, hdrs = 0, repr(exc), {}
            slowest = max(slowest, time.perf_counter() - started)
            seen.setdefault(name, {})
            seen[name][str(status)] = seen[name].get(str(status), 0) + 1
            if needs_db and not well_formed_503(status, data, hdrs):
                bad.append(f"{name}: {status} {str(data)[:120]}")
            elif name == "healthz" and status != 200:
                bad.append(f"healthz: {status}")
            elif name == "triage" and not (status == 200 or well_formed_503(status, data, hdrs)):
                bad.append(f"triage: {status} {str(data)[:120]}")
        time.sleep(0.1)
    return {"statuses": seen, "slowest_s": round(slowest, 3), "bad": bad[:10], "bad_count": len(bad)}


def recovery(server: Server, intake: str, timeout: float = 60) -> dict[str, Any]:
    """Seconds until /readyz says ready and a ticket is stored again (no restart)."""
    client = Client(server.port, {"Authorization": f"Bearer {intake}"})
    started = time.monotonic()
    ready = stored = None
    code = None
    while time.monotonic() - started < timeout and stored is None:
        if ready is None and client.call("GET", "/readyz")[0] == 200:
            ready = time.monotonic() - started
        status, body, _ = client.call("POST", "/v1/tickets", {"text": "数据库恢复后的第一条留言"})
        if status == 201:
            stored, code = time.monotonic() - started, body["code"]
        else:
            time.sleep(0.25)
    errors = 0
    for i, text in enumerate(texts(20)):
        errors += client.call("POST", "/v1/tickets", {"text": text})[0] != 201
        errors += client.call("GET", "/v1/tickets/" + (code or "X"))[0] != 200 if i % 5 == 0 else 0
    client.close()
    return {
        "ready_after_s": None if ready is None else round(ready, 2),
        "ticket_stored_after_s": None if stored is None else round(stored, 2),
        "errors_after_recovery": errors,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outage-seconds", type=float, default=15)
    parser.add_argument("--keep-cluster", action="store_true", help="leave the faults cluster")
    args = parser.parse_args(argv)
    created = not cluster_exists()
    cluster_up()
    result: dict[str, Any] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="triage-drill-") as tmp:
            env = {
                **model_env(Path(tmp) / "models"),
                "TRIAGE_INSTANCE_DIR": str(Path(tmp) / "instance"),
                "TRIAGE_DATABASE_URL": URL,
                "TRIAGE_LOOKUP_RATE_LIMIT": "100000 per minute",  # the drill, not the limiter
            }
            full = {**os.environ, **env}
            intake, reviewer = make_key(full, "intake"), make_key(full, "reviewer")
            with Server(env) as server:
                client = Client(server.port, {"Authorization": f"Bearer {intake}"})
                status, body, _ = client.call("POST", "/v1/tickets", {"text": texts(1)[0]})
                client.close()
                if status != 201:
                    raise RuntimeError(f"the service did not work before the fault: {status} {body}")
                cluster_down()
                result["outage"] = outage(server, intake, reviewer, body["code"], args.outage_seconds)
                cluster_up()
                result["recovery"] = recovery(server, intake)
                result["before_fault_ticket_found"] = (
                    Client(server.port, {"Authorization": f"Bearer {reviewer}"}).call(
                        "GET", f"/v1/tickets/{body['code']}/full"
                    )[0]
                    == 200
                )
    finally:
        if created and not args.keep_cluster:
            pg("pg_dropcluster", VERSION, NAME, "--stop")
    passed = (
        result["outage"]["bad_count"] == 0
        and result["recovery"]["ticket_stored_after_s"] is not None
        and result["recovery"]["errors_after_recovery"] == 0
        and result["before_fault_ticket_found"]
    )
    print(f"{'PASS' if passed else 'FAIL'} database outage: {json.dumps(result, ensure_ascii=False)}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
