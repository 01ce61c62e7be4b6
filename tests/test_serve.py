"""The real thing: `triage serve` under gunicorn on a free loopback port."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def server(tiny_model_dir, tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "TRIAGE_MODEL": str(tiny_model_dir),
        "TRIAGE_INSTANCE_DIR": str(tmp_path),
        "TRIAGE_OPEN_INTAKE": "true",
    }
    log = open(tmp_path / "serve.log", "w")  # noqa: SIM115 - closed after the server stops
    proc = subprocess.Popen(
        [sys.executable, "-m", "triage", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
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
        proc.wait()
        log.close()
        pytest.fail(f"server did not become ready: {(tmp_path / 'serve.log').read_text()[-2000:]}")
    yield base
    proc.terminate()
    proc.wait(timeout=30)
    log.close()


def post(url: str, body: dict) -> tuple[int, dict]:
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_gunicorn_serves_intake_and_lookup(server):
    status, body = post(f"{server}/v1/tickets", {"text": "窗口排队两个小时，太慢了"})
    assert status == 201
    with urllib.request.urlopen(f"{server}/v1/tickets/{body['code']}", timeout=10) as r:
        assert json.loads(r.read())["status"] == "received"
    status, problem = post(f"{server}/v1/triage", {"text": ""})
    assert status == 400 and problem["errors"][0]["field"] == "text"
    with urllib.request.urlopen(f"{server}/metrics", timeout=10) as r:
        metrics = r.read().decode()
    # Summed over both workers: the two POSTs above are both counted, whichever served them.
    assert 'endpoint="tickets.create_ticket",method="POST",status="201"} 1.0' in metrics
    assert 'endpoint="triage.triage_one",method="POST",status="400"} 1.0' in metrics
