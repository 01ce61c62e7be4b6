"""The fast path for POST /v1/triage must answer exactly as Flask would, and leave every
other request (and every error) to Flask."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from seeding import texts


@pytest.fixture()
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'test.db'}"  # the fast path never touches the database


def fastpath(app):
    return app.extensions["triage.fastpath"]


@contextlib.contextmanager
def flask_only(app) -> Iterator[None]:
    """Serve with the fast path taken out, as the app was before it (the request-id layer,
    outermost, stays)."""
    ids = app.wsgi_app
    ids.inner = fastpath(app).inner
    try:
        yield
    finally:
        ids.inner = fastpath(app)


def answer(client, **kwargs) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body; the request id, different on each request, is checked and
    left out of the comparison."""
    r = client.post("/v1/triage", **kwargs)
    headers = dict(r.headers)
    assert len(headers.pop("X-Request-ID")) == 32
    return r.status_code, headers, r.data


def both(app, client, **kwargs) -> tuple[tuple, tuple]:
    fast = answer(client, **kwargs)
    with flask_only(app):
        slow = answer(client, **kwargs)
    return fast, slow


def test_valid_requests_are_answered_byte_for_byte_as_flask_would(app, client, make_key):
    key = make_key("intake")
    bodies = [{"text": t} for t in texts(40, seed=3)]
    bodies += [
        {"text": "营业执照地址变更要带什么", "title": "咨询"},
        {"text": "食品許可證現場核查", "title": None},
    ]
    client.post("/v1/triage", json=bodies[0], headers=key)  # Flask checks the key once
    served = fastpath(app).served
    for body in bodies:
        fast, slow = both(app, client, json=body, headers=key)
        assert fast == slow
        assert fast[0] == 200 and json.loads(fast[2])["category"]["label"]
    assert fastpath(app).served - served == len(bodies)


def test_debug_mode_answers_are_laid_out_as_flask_lays_them_out(app, client, make_key):
    key = make_key("intake")
    client.post("/v1/triage", json={"text": "预热"}, headers=key)
    app.debug = True
    fast, slow = both(app, client, json={"text": "营业执照怎么办"}, headers=key)
    assert fast == slow and b'\n  "category"' in fast[2]
    assert fastpath(app).served == 1


@pytest.mark.app_settings(open_intake=True)
def test_open_intake_needs_no_key(app, client):
    fast, slow = both(app, client, json={"text": "排队等了两个小时"})
    assert fast == slow and fast[0] == 200
    assert fastpath(app).served == 1


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"json": {"text": "排队太久"}, "headers": {}}, 401),  # no key
        ({"json": {"text": "排队太久"}, "headers": {"Authorization": "Bearer nope"}}, 401),
        ({"data": b"{not json", "content_type": "application/json"}, 400),
        ({"data": b"[1, 2]", "content_type": "application/json"}, 400),
        ({"data": b"\xff\xfe", "content_type": "application/json"}, 400),
        ({"json": {"text": "ok", "extra": 1}}, 400),
        ({"json": {"text": "  "}}, 400),
        ({"json": {"text": "x" * 20001}}, 400),
        ({"data": "text=排队", "content_type": "application/x-www-form-urlencoded"}, 415),
    ],
)
def test_everything_else_is_left_to_flask(app, client, make_key, kwargs, status):
    key = make_key("intake")
    client.post("/v1/triage", json={"text": "预热"}, headers=key)
    kwargs = {"headers": key, **kwargs}
    served = fastpath(app).served
    fast, slow = both(app, client, **kwargs)
    assert fast == slow
    assert fast[0] == status
    assert fast[1]["Content-Type"] == "application/problem+json"
    assert fastpath(app).served == served


def test_a_key_of_the_wrong_role_gets_flasks_403(app, client, make_key):
    key = make_key("reviewer")
    client.get("/v1/tickets", headers=key)  # the key is now remembered by this process
    fast, slow = both(app, client, json={"text": "排队太久"}, headers=key)
    assert fast == slow and fast[0] == 403
    assert fastpath(app).served == 0


@pytest.mark.app_settings(open_intake=True, max_body_bytes=200)
def test_a_body_over_the_limit_gets_flasks_413(app, client):
    fast, slow = both(app, client, json={"text": "排队" * 200})
    assert fast == slow and fast[0] == 413
    assert fastpath(app).served == 0


def test_a_revoked_key_is_refused_at_once(app, client, make_key):
    from triage.service.keys import list_keys, revoke_key

    key = make_key("intake")
    assert client.post("/v1/triage", json={"text": "排队太久"}, headers=key).status_code == 200
    assert client.post("/v1/triage", json={"text": "排队太久"}, headers=key).status_code == 200
    assert fastpath(app).served == 1
    session = app.extensions["triage.db"].session()
    revoke_key(session, list_keys(session)[-1].prefix)  # in this process: forgotten at once
    session.close()
    r = client.post("/v1/triage", json={"text": "排队太久"}, headers=key)
    assert r.status_code == 401
    assert fastpath(app).served == 1


def test_fast_answers_are_counted_in_metrics(app, client, make_key):
    key = make_key("intake")
    line = 'triage_http_requests_total{endpoint="triage.triage_one",method="POST",status="200"}'

    def count() -> float:
        text = client.get("/metrics").get_data(as_text=True)
        return sum(float(x.split()[-1]) for x in text.splitlines() if x.startswith(line))

    before = count()
    for _ in range(3):
        client.post("/v1/triage", json={"text": "排队太久"}, headers=key)
    assert fastpath(app).served == 2
    assert count() - before == 3


def test_other_routes_pass_through(app, client):
    assert client.get("/healthz").status_code == 200
    assert client.get("/v1/triage").status_code == 405
    assert fastpath(app).served == 0


@pytest.mark.app_settings(open_intake=True)
@pytest.mark.parametrize(
    "raw",
    [
        b'{"text": "\\ud800\\u6392\\u961f"}',  # a lone surrogate: orjson refuses to read it
        b'{"text": "\\u6392\\u961f", "title": "\\ud83d"}',
        b'{"text": "\\u6392\\u961f", "text": NaN}',  # json reads NaN; orjson does not
    ],
)
def test_bodies_orjson_refuses_are_answered_by_flask(app, client, raw):
    fast, slow = both(app, client, data=raw, content_type="application/json")
    assert fast == slow
    assert fastpath(app).served == 0


@pytest.mark.app_settings(open_intake=True)
def test_a_provider_orjson_cannot_copy_is_used_as_it_is(app, client):
    """With settings orjson does not have (ASCII escapes here), the provider writes the answer."""
    app.json.ensure_ascii = True  # type: ignore[attr-defined]
    fast, slow = both(app, client, json={"text": "营业执照怎么办"})
    assert fast == slow and b"\\u" in fast[2]
    assert fastpath(app).served == 1
