"""Security: keys and personal numbers never reach a log (the app's loggers at DEBUG, and
`triage serve` with its access log); lookups are rate-limited under gunicorn; the public
lookup shows nothing personal or internal; a key revoked elsewhere stops working."""

from __future__ import annotations

import http.client
import json
import logging
import time

import pytest
from serving import call, new_key, triage_serve

PHONE, ID_NUMBER, EMAIL = "13812345678", "11010519491231002X", "zhang.san@example.com"
TEXT = f"我叫张三，电话{PHONE}，身份证{ID_NUMBER}，邮箱{EMAIL}，办营业执照排队两个小时"


def exercise(call, intake: dict, reviewer: dict) -> str:
    """Every kind of request that carries a key or personal numbers; returns a ticket code.
    ``call(method, path, json=None, headers=None, data=None)`` -> (status, body)."""
    contact = {"name": "张三", "phone": PHONE, "email": EMAIL}
    status, body = call(
        "POST", "/v1/tickets", {"text": TEXT, "title": f"电话{PHONE}", "contact": contact}, intake
    )
    assert status == 201, body
    code = body["code"]
    assert call("POST", "/v1/triage", {"text": TEXT}, intake)[0] == 200
    assert call("POST", "/v1/triage/batch", {"items": [{"id": PHONE, "text": TEXT}]}, intake)[0] == 200
    note = {"type": "dispatched", "note": f"已致电{PHONE}", "public_reply": None}
    assert call("POST", f"/v1/tickets/{code}/events", note, reviewer)[0] == 201
    assert call("GET", f"/v1/tickets/{code}/full", None, reviewer)[0] == 200
    assert call("GET", f"/v1/tickets?category={PHONE}", None, reviewer)[0] == 200
    assert call("GET", f"/v1/tickets/{PHONE}")[0] == 400  # a phone number typed as a code
    assert call("GET", f"/v1/tickets/{ID_NUMBER}")[0] == 400
    assert call("POST", "/v1/tickets", {"text": TEXT, "id_number": ID_NUMBER}, intake)[0] == 400
    assert call("POST", "/v1/tickets", None, intake, f'{{"text": "{PHONE}')[0] == 400  # broken JSON
    wrong = {"Authorization": intake["Authorization"] + "x"}
    assert call("GET", "/v1/tickets", None, wrong)[0] == 401
    return code


def leaks(log: str, keys: list[dict]) -> list[str]:
    secrets = [h["Authorization"].split()[1] for h in keys]
    secrets += [s.split("_", 2)[2] for s in secrets]  # the random part alone (tk_PREFIX_RANDOM)
    return [s for s in [*secrets, PHONE, ID_NUMBER, EMAIL, "张三"] if s in log]


def test_app_logs_at_debug_carry_no_keys_or_personal_numbers(app, client, make_key, caplog):
    caplog.set_level(logging.DEBUG)
    # SQL statements too, as when someone turns on SQL logging to chase a slow query (its
    # DEBUG level prints result rows: asking for data, not a log to keep).
    caplog.set_level(logging.INFO, logger="sqlalchemy")
    intake, reviewer = make_key("intake"), make_key("reviewer")

    def call(method, path, body=None, headers=None, data=None):
        kwargs = {"data": data, "content_type": "application/json"} if data else {"json": body}
        r = client.open(path, method=method, headers=headers or {}, **kwargs)
        return r.status_code, r.get_json()

    code = exercise(call, intake, reviewer)
    logged = caplog.text + "".join(str(r.exc_info) for r in caplog.records)
    assert code in logged  # the logs were captured: codes are meant to be there
    assert leaks(logged, [intake, reviewer]) == []


def live_server(model_dir, home, **settings):
    """`triage serve` (2 workers, DEBUG logs, access log) with an intake and a reviewer key."""
    with triage_serve(model_dir, home, TRIAGE_LOG_LEVEL="DEBUG", **settings) as server:
        roles = ("intake", "reviewer")
        yield (
            server,
            {role: {"Authorization": f"Bearer {new_key(server.database_url, role)}"} for role in roles},
        )


@pytest.fixture(scope="module")
def live(tiny_model_dir, tmp_path_factory):
    """On SQLite, with a lookup limit no window ends mid-test."""
    home = tmp_path_factory.mktemp("live")
    yield from live_server(tiny_model_dir, home, TRIAGE_LOOKUP_RATE_LIMIT="5 per hour")


def caller(server):
    """``call`` for :func:`exercise` against a running server."""

    def over_http(method, path, body=None, headers=None, data=None):
        return call(server.port, method, path, body, headers, data=data.encode() if data else b"")

    return over_http


@pytest.mark.slow  # gunicorn
def test_server_logs_carry_no_keys_or_personal_numbers(live):
    server, keys = live
    code = exercise(caller(server), keys["intake"], keys["reviewer"])
    want = f'"GET /v1/tickets/{code}/full" 200'
    # An access line is written after its answer is sent: wait for it rather than race it.
    deadline = time.monotonic() + 15
    while want not in (log := server.log()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert want in log  # the access log is on, with paths
    assert "[PHONE]" in log and "[ID]" in log  # the paths typed with numbers, masked
    assert leaks(log, list(keys.values())) == []


@pytest.fixture(scope="module")
def live_json(tiny_model_dir, tmp_path_factory):
    """As ``live``, with TRIAGE_LOG_FORMAT=json."""
    yield from live_server(tiny_model_dir, tmp_path_factory.mktemp("live_json"), TRIAGE_LOG_FORMAT="json")


@pytest.mark.slow  # gunicorn
def test_json_logs_give_one_line_per_request_with_its_id_and_nothing_personal(live_json):
    server, keys = live_json
    code = exercise(caller(server), keys["intake"], keys["reviewer"])
    given = "0f8e7d6c-5b4a-4938-8271-605f4e3d2c1b"
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("GET", f"/v1/tickets/{code}", headers={"X-Request-ID": given})
    resp = conn.getresponse()
    resp.read()
    conn.close()
    assert resp.status == 200 and resp.getheader("X-Request-ID") == given

    # The access line is written after the answer is sent: wait for it rather than race it.
    deadline = time.monotonic() + 15
    while True:
        log = server.log()
        lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]  # each one parses
        requests = [x for x in lines if x.get("message") == "request"]
        if any(x["request_id"] == given for x in requests) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert leaks(log, list(keys.values())) == []
    assert len(requests) >= 13  # exercise's twelve calls and the lookup above
    for entry in requests:
        assert {"request_id", "method", "path", "status", "duration_ms", "pid", "time"} <= set(entry)
        assert isinstance(entry["status"], int) and isinstance(entry["pid"], int)
    (lookup,) = [x for x in requests if x["request_id"] == given]
    assert lookup["path"] == f"/v1/tickets/{code}" and lookup["status"] == 200
    assert {"/v1/tickets/[PHONE]", "/v1/tickets/[ID]"} <= {x["path"] for x in requests}
    # An app line made while serving a request names it; its access line has the same id.
    (received,) = [x for x in lines if x.get("message", "").startswith(f"ticket {code} received")]
    (intake,) = [x for x in requests if x["request_id"] == received["request_id"]]
    assert intake["method"] == "POST" and intake["path"] == "/v1/tickets" and intake["status"] == 201
    assert received["pid"] == intake["pid"]


@pytest.mark.slow  # gunicorn
def test_lookups_are_rate_limited_under_gunicorn(live):
    server, _ = live
    from triage.service.codes import new_code

    statuses, limited = [], None
    for _ in range(30):  # a new connection each time, so both workers take some
        status, body = call(server.port, "GET", f"/v1/tickets/{new_code()}")
        statuses.append(status)
        if status == 429:
            limited = body
    assert limited is not None and limited["status"] == 429
    # Counters live in each worker (memory://): at most workers x limit get through.
    assert statuses.count(404) <= 2 * 5 and statuses.count(404) + statuses.count(429) == 30


def test_public_lookup_shows_no_internal_note_actor_or_contact(client, make_key):
    intake, reviewer = make_key("intake"), make_key("reviewer", name="王科长")
    code = client.post(
        "/v1/tickets", json={"text": TEXT, "contact": {"name": "张三", "phone": PHONE}}, headers=intake
    ).get_json()["code"]
    client.post(
        f"/v1/tickets/{code}/events",
        json={"type": "dispatched", "note": f"内部：申请人电话{PHONE}，态度不好"},
        headers=reviewer,
    )
    for step in ("accepted", "replied"):
        event = {"type": step, "public_reply": "已为您加开窗口。"} if step == "replied" else {"type": step}
        assert client.post(f"/v1/tickets/{code}/events", json=event, headers=reviewer).status_code == 201
    raw = client.get(f"/v1/tickets/{code}").get_data(as_text=True)
    assert "已为您加开窗口" in raw
    prefix = reviewer["Authorization"].split("_")[1]
    for secret in ("内部", "态度", "王科长", prefix, PHONE, ID_NUMBER, EMAIL, "张三", "营业执照"):
        assert secret not in raw, secret


def test_a_key_revoked_by_another_process_stops_within_the_cache_time(app, client, make_key, monkeypatch):
    import sqlalchemy as sa

    from triage.web import access

    monkeypatch.setattr(access, "KEY_CACHE_SECONDS", 0.3)
    headers = make_key("reviewer")
    assert client.get("/v1/tickets", headers=headers).status_code == 200
    prefix = headers["Authorization"].split("_")[1]
    with app.extensions["triage.db"].engine.begin() as conn:  # plain SQL, as `triage keys revoke` would
        conn.execute(
            sa.text("UPDATE api_keys SET revoked_at = CURRENT_TIMESTAMP WHERE prefix = :p"), {"p": prefix}
        )
    time.sleep(0.4)
    assert client.get("/v1/tickets", headers=headers).status_code == 401
