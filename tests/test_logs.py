"""Request ids on every answer, and log lines that carry them (text or JSON)."""

from __future__ import annotations

import io
import json
import logging
import re
from pathlib import Path

import pytest

from triage.cli.logs import configure

HEX32 = re.compile(r"[0-9a-f]{32}")


@pytest.fixture()
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture()
def open_app(app_config):
    from triage.web import create_app

    app = create_app({**app_config, "open_intake": True, "max_body_bytes": 2000})
    yield app
    app.extensions["triage.db"].dispose()


@pytest.fixture()
def captured():
    """The root logger as `triage serve` sets it up, writing into a buffer; restored after."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level

    def setup(log_format: str) -> io.StringIO:
        buffer = io.StringIO()
        configure("INFO", log_format, [logging.StreamHandler(buffer)])
        return buffer

    yield setup
    root.handlers[:], level = saved
    root.setLevel(level)


def test_every_answer_carries_a_request_id(open_app):
    client = open_app.test_client()
    fast = client.post("/v1/triage", json={"text": "营业执照办理排队太久"})
    assert fast.status_code == 200 and open_app.extensions["triage.fastpath"].served == 1
    answers = [
        fast,
        client.get("/healthz"),
        client.get("/no/such/page"),  # 404 problem
        client.post("/v1/triage", json={"text": ""}),  # 400 from Flask
        client.post("/v1/triage", json={"text": "长" * 3000}),  # 413
        client.get("/review"),  # a page redirect
    ]
    assert [a.status_code for a in answers] == [200, 200, 404, 400, 413, 302]
    ids = [a.headers["X-Request-ID"] for a in answers]
    assert all(HEX32.fullmatch(i) for i in ids) and len(set(ids)) == len(ids)


def test_a_valid_incoming_id_is_kept_and_a_bad_one_replaced(open_app):
    client = open_app.test_client()
    given = "3f2a9c1e-7b4d-4e21-9a55-0c6a1d2b8e7f"
    assert client.get("/healthz", headers={"X-Request-ID": given}).headers["X-Request-ID"] == given
    fast = client.post("/v1/triage", json={"text": "发票"}, headers={"X-Request-ID": given})
    assert fast.headers["X-Request-ID"] == given and open_app.extensions["triage.fastpath"].served == 1
    for bad in ('x" forged="1', "short", "a" * 200, "有中文的标识符号码"):
        r = client.get("/healthz", headers={"X-Request-ID": bad})
        assert HEX32.fullmatch(r.headers["X-Request-ID"]), bad


def test_app_log_lines_carry_the_request_id_as_json(open_app, captured):
    buffer = captured("json")
    r = open_app.test_client().post("/v1/tickets", json={"text": "社保卡补办要跑几次窗口"})
    assert r.status_code == 201
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    (received,) = [x for x in lines if x["message"].startswith(f"ticket {r.get_json()['code']} received")]
    assert received["request_id"] == r.headers["X-Request-ID"]
    assert received["level"] == "INFO" and received["logger"] == "triage.web.routes_tickets"
    assert isinstance(received["pid"], int) and received["time"]
    assert "社保卡" not in buffer.getvalue()


def test_text_log_lines_carry_the_request_id(open_app, captured):
    buffer = captured("text")
    r = open_app.test_client().post("/v1/tickets", json={"text": "社保卡补办要跑几次窗口"})
    logging.getLogger("triage.test").info("outside any request")
    text = buffer.getvalue()
    assert f"[{r.headers['X-Request-ID']}]: ticket {r.get_json()['code']} received" in text
    assert "[-]: outside any request" in text
