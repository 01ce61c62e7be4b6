"""Apps for tests: one in process (built, and disposed of afterwards), or `triage serve` for
real, gunicorn on a free loopback port, until the test is done."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


@contextmanager
def built_app(config: dict[str, Any] | None = None) -> Iterator[Any]:
    """``create_app(config)``; on exit its model follower stops and its database
    connections close (before a test drops its PostgreSQL schema)."""
    from triage.web import create_app

    app = create_app(config)
    try:
        yield app
    finally:
        app.extensions["triage.models"].stop()
        for name in ("triage.db", "triage.stats_db"):
            if name in app.extensions:
                app.extensions[name].dispose()


@dataclass(frozen=True)
class Served:
    port: int
    database_url: str  # the server's database, for seeding keys
    log_path: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def triage_serve(model_dir: Path, home: Path, workers: int = 2, **env: str) -> Iterator[Served]:
    """Start `python -m triage serve` on SQLite in ``home``; stop it on exit."""
    port = free_port()
    database_url = f"sqlite:///{home / 'triage.db'}"
    full_env = {
        **os.environ,
        "TRIAGE_MODEL": str(model_dir),
        "TRIAGE_INSTANCE_DIR": str(home),
        "TRIAGE_DATABASE_URL": database_url,
        **env,
    }
    home.mkdir(parents=True, exist_ok=True)
    log_path = home / "serve.log"
    log = open(log_path, "w")  # noqa: SIM115 - closed after the server stops
    proc = subprocess.Popen(
        [sys.executable, "-m", "triage", "serve", "--port", str(port), "--workers", str(workers)],
        env=full_env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{base}/readyz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:  # not listening yet, or a worker still booting
                time.sleep(0.3)
        else:
            proc.kill()
            pytest.fail(f"server did not become ready: {log_path.read_text()[-2000:]}")
        yield Served(port, database_url, log_path)
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.wait(timeout=30)
        log.close()


def new_key(database_url: str, role: str) -> str:
    """A key of ``role`` in a server's database: its secret."""
    from triage.service.keys import create_key
    from triage.storage.db import migrated_session

    with migrated_session(database_url) as session:
        return create_key(session, role, f"test {role}")[1]


def call(
    port: int,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    data: bytes = b"",
) -> tuple[int, Any]:
    """One request on a fresh connection: (status, parsed JSON or text). ``body`` is sent
    as JSON; ``data`` as raw bytes labelled JSON (to send what is not JSON at all)."""
    headers = dict(headers or {})
    payload = data or (json.dumps(body, ensure_ascii=False).encode() if body is not None else None)
    if payload is not None:
        headers["Content-Type"] = "application/json"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=payload, headers=headers)
        response = conn.getresponse()
        raw = response.read()
    finally:
        conn.close()
    kind = response.getheader("Content-Type", "")
    return response.status, json.loads(raw) if "json" in kind and raw else raw.decode(errors="replace")
