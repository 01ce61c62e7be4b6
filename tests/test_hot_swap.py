"""A promotion reaches every gunicorn worker without a restart and without a failed request."""

import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest
from serving import free_port

from triage.cli import main

pytestmark = pytest.mark.slow  # gunicorn, training and a promotion


def test_requests_across_a_swap_all_succeed(tiny_model_dir, tiny_csv, tmp_path, monkeypatch):
    models = tmp_path / "models"
    models.mkdir()
    shutil.copytree(tiny_model_dir, models / "20260101-000000-aaaa")
    env = {
        "TRIAGE_MODELS_DIR": str(models),
        "TRIAGE_INSTANCE_DIR": str(tmp_path / "instance"),
        "TRIAGE_MODEL": "",
        "TRIAGE_OPEN_INTAKE": "true",
        "TRIAGE_MODEL_RELOAD_SECONDS": "0.3",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    # A second version, trained aside; it joins the models folder once the server runs.
    staged = tmp_path / "20270101-000000-bbbb"
    assert main(["train", "--data", str(tiny_csv), "--out", str(staged)]) == 0
    new_version = json.loads((staged / "card.json").read_text())["version"]

    port = free_port()
    log = open(tmp_path / "serve.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "triage", "serve", "--port", str(port), "--workers", "2"],
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/v1/triage"
    statuses: list[int] = []
    versions: list[str] = []
    stop = threading.Event()

    def hammer() -> None:
        body = json.dumps({"text": "窗口排队两个小时"}).encode()
        while not stop.is_set():
            req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=10) as r:
                    statuses.append(r.status)
                    versions.append(json.loads(r.read())["model_version"])
            except urllib.error.HTTPError as e:
                statuses.append(e.code)
            except OSError:  # refused, reset or timed out: all failures here
                statuses.append(-1)

    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2).close()
                break
            except OSError:  # not listening yet, or a worker still booting
                time.sleep(0.3)
        threads = [threading.Thread(target=hammer) for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(1.5)
        shutil.move(staged, models / staged.name)
        assert main(["models", "promote", staged.name, "--force"]) == 0
        time.sleep(3)  # a few reload intervals for both workers
        stop.set()
        for t in threads:
            t.join(timeout=15)
    finally:
        stop.set()
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
    assert statuses and set(statuses) == {200}, (set(statuses), (tmp_path / "serve.log").read_text()[-1500:])
    assert versions[-1] == new_version
    assert versions[0] != new_version
    assert set(versions[-20:]) == {new_version}, "both workers serve the new model"


def test_stopping_the_follower_waits_for_the_check_under_way(tmp_path):
    """A check holds a database connection; if stopping returned before it ended, the app's
    engine would be disposed of first and the connection never closed (the ResourceWarning
    that surfaced in unrelated tests under load)."""
    from triage.settings import load_settings
    from triage.web.engine import ModelHolder

    entered, left = threading.Event(), threading.Event()

    class SlowSession:  # a check that takes a while: the registry read on a busy machine
        def __enter__(self):
            entered.set()
            time.sleep(0.5)
            return self

        def __exit__(self, *exc):
            left.set()

    conf = load_settings({"model": "", "model_reload_seconds": 0.01, "models_dir": str(tmp_path)})
    holder = ModelHolder(conf, SlowSession)
    holder.watch()
    assert entered.wait(10)
    holder.stop()
    assert left.is_set()
