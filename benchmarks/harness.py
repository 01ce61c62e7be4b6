"""What the benchmark and fault scripts share: a `triage serve` on a loopback port, keys,
a keep-alive client, real texts and worker memory. Loopback only; every wait is bounded."""

from __future__ import annotations

import contextlib
import csv
import http.client
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def texts(limit: int | None = None, seed: int = 0) -> list[str]:
    """Real, varied messages from data/messages (shuffled, so lengths and topics mix)."""
    out: list[str] = []
    for path in sorted((ROOT / "data" / "messages").glob("*.csv")):
        with open(path, encoding="utf-8") as fh:
            out.extend(r["text"] for r in csv.DictReader(fh) if r.get("text", "").strip())
    random.Random(seed).shuffle(out)
    return out[:limit] if limit else out


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by nearest rank; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def cli(env: dict[str, str], *args: str, timeout: float = 600) -> str:
    """Run `python -m triage ARGS` with ``env``; its stdout (raises on a non-zero exit)."""
    done = subprocess.run(
        [PYTHON, "-m", "triage", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode:
        raise RuntimeError(f"triage {' '.join(args)} failed: {done.stderr[-1500:]}")
    return done.stdout


def make_key(env: dict[str, str], role: str, department: str | None = None) -> str:
    args = ["keys", "create", "--role", role, "--name", f"bench-{role}"]
    if department:
        args += ["--department", department]
    return cli(env, *args).strip().splitlines()[-1]


def model_env(models_dir: Path) -> dict[str, str]:
    """TRIAGE_MODEL if set, else a default model in ``models_dir`` (trained if none)."""
    if os.environ.get("TRIAGE_MODEL"):
        return {"TRIAGE_MODEL": os.environ["TRIAGE_MODEL"]}
    env = {**os.environ, "TRIAGE_MODELS_DIR": str(models_dir)}
    if not any(models_dir.glob("*/card.json")):
        print(f"training the default model into {models_dir} ...", file=sys.stderr)
        cli(env, "train", "--out", str(models_dir / "bench"))
    folder = sorted(p.parent for p in models_dir.glob("*/card.json"))[-1]
    return {"TRIAGE_MODEL": str(folder)}


@contextlib.contextmanager
def pg_schema(base_url: str = PG_URL, prefix: str = "drill") -> Iterator[str]:
    """A throwaway schema on a PostgreSQL server, dropped afterwards (tests, benchmarks, drills)."""
    import sqlalchemy as sa

    schema = f"{prefix}_{secrets.token_hex(5)}"
    engine = sa.create_engine(base_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base_url else "?"
    try:
        yield f"{base_url}{sep}options=-csearch_path%3D{schema}"
    finally:
        try:
            with engine.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        finally:  # closed even if the drop fails: an open one warns wherever it is collected
            engine.dispose()


def rss_mb(pid: int) -> float:
    """Resident memory of a process (VmRSS), MB; NaN if it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return float("nan")
    return int(status.split("VmRSS:")[1].split()[0]) / 1024


def pss_mb(pid: int) -> float:
    """Proportional share of memory (shared pages divided among sharers), MB."""
    try:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return float("nan")
    return int(rollup.split("\nPss:")[1].split()[0]) / 1024


class Server:
    """`triage serve` in its own process group; ``env`` is added to the environment."""

    def __init__(
        self,
        env: dict[str, str],
        workers: int = 2,
        threads: int | None = None,
        preload: bool | None = None,
        log_path: Path | None = None,
        port: int | None = None,
    ) -> None:
        self.env = {**os.environ, "TRIAGE_LOG_LEVEL": "INFO", **env}
        self.port = port or free_port()
        self.args = ["serve", "--port", str(self.port), "--workers", str(workers)]
        if threads is not None:
            self.args += ["--threads", str(threads)]
        if preload is not None:  # None: triage serve's default (preloaded)
            self.args.append("--preload" if preload else "--no-preload")
        self.log_path = log_path or Path(self.env["TRIAGE_INSTANCE_DIR"]) / "serve.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.ready_s = float("nan")

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120) -> Server:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [PYTHON, "-m", "triage", *self.args],
                env=self.env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        if not self.wait_ready(timeout):
            self.stop()
            raise RuntimeError(f"server did not become ready; log tail:\n{self.log_tail()}")
        self.ready_s = time.monotonic() - started
        return self

    def wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                return False
            try:
                status, _, _ = request(self.port, "GET", "/readyz", timeout=2)
                if status == 200 and self.all_workers_ready():
                    return True
            except OSError:
                pass
            time.sleep(0.2)
        return False

    def all_workers_ready(self) -> bool:
        """Every current worker has logged that it loaded the app (triage/server.py)."""
        pids = self.worker_pids()
        log = self.log_tail(10**7)
        return len(pids) == self.workers and all(f"worker {p} ready" in log for p in pids)

    @property
    def workers(self) -> int:
        return int(self.args[self.args.index("--workers") + 1])

    def worker_pids(self) -> list[int]:
        if self.proc is None:
            return []
        try:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        except OSError:
            return []
        return [int(p) for p in children.split()]

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def kill9(self) -> None:
        """SIGKILL the master and every worker at once (the whole process group)."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill9()

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def request(
    port: int,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10,
) -> tuple[int, Any, dict[str, str]]:
    """One request on a fresh connection: (status, parsed JSON or text, headers)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        return Client.send(conn, method, path, body, headers)
    finally:
        conn.close()


class Client:
    """One keep-alive connection, reopened after an error (one per thread)."""

    def __init__(self, port: int, headers: dict[str, str] | None = None, timeout: float = 10) -> None:
        self.port, self.headers, self.timeout = port, headers or {}, timeout
        self.conn: http.client.HTTPConnection | None = None

    def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any, float]:
        """(status, parsed body, seconds); status 0 means the connection failed."""
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        started = time.perf_counter()
        try:
            status, data, _ = self.send(self.conn, method, path, body, {**self.headers, **(headers or {})})
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            return 0, repr(exc), time.perf_counter() - started
        return status, data, time.perf_counter() - started

    @staticmethod
    def send(
        conn: http.client.HTTPConnection,
        method: str,
        path: str,
        body: Any,
        headers: dict[str, str] | None,
    ) -> tuple[int, Any, dict[str, str]]:
        hdrs = dict(headers or {})
        payload = None
        if body is not None:
            payload = json.dumps(body, ensure_ascii=False).encode()
            hdrs["Content-Type"] = "application/json"
        conn.request(method, path, body=payload, headers=hdrs)
        resp = conn.getresponse()
        raw = resp.read()
        kind = resp.getheader("Content-Type", "")
        data: Any = json.loads(raw) if "json" in kind and raw else raw.decode(errors="replace")
        return resp.status, data, dict(resp.getheaders())

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
