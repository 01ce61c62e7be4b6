"""Beyond one machine: two `triage serve` hosts on one PostgreSQL database take intake at
once, follow one promotion, and lose nothing."""

import json
import shutil
import threading
import time

import pytest
from seeding import PG_URL, pg_schema

from benchmarks.harness import Client, Server
from triage.cli import main
from triage.storage.db import migrated_session
from triage.storage.schema import Ticket

pytestmark = pytest.mark.slow  # two gunicorn hosts

RELOAD_SECONDS = 0.5
TEXTS = ("窗口排队两个小时", "公司注销要登报吗", "社保断缴怎么补", "营业执照怎么办理", "路灯坏了没人修")


def test_two_hosts_share_intake_and_a_promotion(tiny_model_dir, tiny_csv, tmp_path, monkeypatch):
    models = tmp_path / "models"  # a folder every host sees (a shared volume in production)
    models.mkdir()
    shutil.copytree(tiny_model_dir, models / "20260101-000000-aaaa")
    staged = tmp_path / "20270101-000000-bbbb"
    assert main(["train", "--data", str(tiny_csv), "--out", str(staged)]) == 0
    new_version = json.loads((staged / "card.json").read_text())["version"]

    with pg_schema(PG_URL, prefix="hosts") as url:
        shared = {
            "TRIAGE_DATABASE_URL": url,
            "TRIAGE_MODELS_DIR": str(models),
            "TRIAGE_MODEL": "",
            "TRIAGE_MODEL_RELOAD_SECONDS": str(RELOAD_SECONDS),
        }
        for name, value in shared.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("TRIAGE_INSTANCE_DIR", str(tmp_path / "cli"))
        key = _intake_key()
        hosts = [
            Server({**shared, "TRIAGE_INSTANCE_DIR": str(tmp_path / f"host{i}")}, workers=1) for i in (1, 2)
        ]
        results: list[tuple[int, int, str | None]] = []  # (host, status, code)
        stop = threading.Event()

        def submit(host: int, server: Server) -> None:
            client = Client(server.port, {"Authorization": f"Bearer {key}"}, timeout=30)
            n = 0
            while not stop.is_set():
                text = f"{TEXTS[n % len(TEXTS)]}（第{host}台第{n}次）"
                status, body, _ = client.call("POST", "/v1/tickets", {"text": text})
                results.append((host, status, body.get("code") if isinstance(body, dict) else None))
                n += 1
            client.close()

        try:
            for server in hosts:
                server.start()
            threads = [
                threading.Thread(target=submit, args=(i, server))
                for i, server in enumerate(hosts)
                for _ in range(2)
            ]
            for t in threads:
                t.start()
            time.sleep(2)
            shutil.move(staged, models / staged.name)
            assert main(["models", "promote", staged.name, "--force"]) == 0
            promoted = time.monotonic()
            followed = [_wait_for_version(server, key, new_version, promoted) for server in hosts]
            time.sleep(1)  # intake goes on across the swap
            stop.set()
            for t in threads:
                t.join(timeout=30)
        finally:
            stop.set()
            for server in hosts:
                server.stop()

        logs = "\n".join(s.log_tail() for s in hosts)
        assert all(f is not None for f in followed), logs
        # Each host shows the new version within a few reload intervals (polling included).
        assert max(followed) < RELOAD_SECONDS * 10, followed
        statuses = {status for _, status, _ in results}
        assert statuses == {201}, (statuses, logs)
        assert {host for host, _, _ in results} == {0, 1}
        codes = [code for _, _, code in results]
        assert len(codes) == len(set(codes)), "a query code was handed out twice"
        with migrated_session(url) as session:
            stored = {code for (code,) in session.query(Ticket.code)}
        assert stored == set(codes), "every 201 is stored, and nothing else"


def _intake_key() -> str:
    import io
    from contextlib import redirect_stdout

    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["keys", "create", "--role", "intake", "--name", "hosts"]) == 0
    return out.getvalue().strip().splitlines()[-1]


def _wait_for_version(server: Server, key: str, version: str, since: float) -> float | None:
    """Seconds from ``since`` until this host's /v1/model names ``version`` (None: not
    within 20 s)."""
    client = Client(server.port, {"Authorization": f"Bearer {key}"}, timeout=10)
    try:
        while time.monotonic() < since + 20:
            status, body, _ = client.call("GET", "/v1/model")
            if status == 200 and body.get("version") == version:
                return time.monotonic() - since
            time.sleep(0.05)
        return None
    finally:
        client.close()
