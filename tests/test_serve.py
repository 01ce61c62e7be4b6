"""The real thing: `triage serve` under gunicorn on a free loopback port."""

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from paths import PROJECT_ROOT
from serving import free_port, triage_serve

pytestmark = pytest.mark.slow  # gunicorn


@pytest.fixture()
def server(tiny_model_dir, tmp_path):
    with triage_serve(tiny_model_dir, tmp_path, TRIAGE_OPEN_INTAKE="true") as served:
        yield served.base


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


def _mapped(pid: int, names: tuple[str, ...]) -> list[str]:
    """Which of these packages have files mapped into a live process (imported there)."""
    maps = Path(f"/proc/{pid}/maps").read_text()
    return [n for n in names if f"/{n}/" in maps]


def test_first_start_trains_in_a_child_and_no_server_process_holds_sklearn(tiny_csv, tmp_path):
    """With no model, `triage serve` trains the default one in a child process; then neither
    the master nor a worker has scikit-learn, scipy or matplotlib loaded."""
    data = tmp_path / "data"
    shutil.copytree(PROJECT_ROOT / "data", data, ignore=shutil.ignore_patterns("messages"))
    (data / "messages").mkdir()
    shutil.copy(tiny_csv, data / "messages" / "tiny.csv")
    port = free_port()
    env = {
        **os.environ,
        "TRIAGE_DATA_DIR": str(data),
        "TRIAGE_MODELS_DIR": str(tmp_path / "models"),
        "TRIAGE_INSTANCE_DIR": str(tmp_path / "instance"),
        "TRIAGE_MODEL": "",
    }
    log = open(tmp_path / "serve.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "triage", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                time.sleep(1)
        else:
            pytest.fail(f"server did not become ready: {(tmp_path / 'serve.log').read_text()[-2000:]}")
        assert list((tmp_path / "models").glob("*/model.npz"))
        # /readyz answers once one worker is up; the second may still be forking on a busy host.
        wait_until = time.monotonic() + 60
        while True:
            children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
            if len(children) == 2 or time.monotonic() > wait_until:
                break
            time.sleep(0.2)
        assert len(children) == 2  # the two workers, and no trainer left behind
        for pid in [proc.pid, *map(int, children)]:
            assert _mapped(pid, ("sklearn", "scipy", "matplotlib")) == [], pid
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
