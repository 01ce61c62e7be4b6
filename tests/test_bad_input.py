"""Input that once made a 500 gets a clear 4xx (or simply works), on both databases."""

from __future__ import annotations

import pytest

PROBLEM = "application/problem+json"


def problem(r, status: int) -> dict:
    assert r.status_code == status, r.get_data(as_text=True)[:300]
    assert r.mimetype == PROBLEM
    body = r.get_json()
    assert body["status"] == status and body["detail"]
    return body


def test_since_as_a_plain_date_is_read_in_the_service_time_zone(client, make_key, app):
    intake, reviewer = make_key("intake"), make_key("reviewer")
    assert client.post("/v1/tickets", json={"text": "营业执照排队太久"}, headers=intake).status_code == 201
    for since in ("2026-11-01", "2026-11-01T08:00:00", "2026-11-01 08:00"):
        r = client.get(f"/v1/tickets?since={since}", headers=reviewer)
        assert r.status_code == 200, r.get_data(as_text=True)[:300]
        assert r.get_json()["total"] == 1
    for far in ("2999-01-01", "9999-12-31"):
        r = client.get(f"/v1/tickets?since={far}", headers=reviewer)
        assert r.status_code == 200 and r.get_json()["total"] == 0


@pytest.mark.parametrize(
    "since", ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00", "2026-13-01", "2026-11-01T25:00"]
)
def test_since_out_of_range_is_a_400(client, make_key, since):
    r = client.get("/v1/tickets", query_string={"since": since}, headers=make_key("reviewer"))
    problem(r, 400)


@pytest.mark.parametrize("path", ["/v1/tickets", "/v1/triage", "/v1/triage/batch"])
def test_deeply_nested_json_is_a_400_problem(client, make_key, path):
    headers = {**make_key("intake"), "Content-Type": "application/json"}
    for _ in range(2):  # the second one would go to the fast path on /v1/triage
        r = client.post(path, data="[" * 200_000, headers=headers)
        problem(r, 400)
    deep = '{"text": ' + "[" * 200_000 + "]" * 200_000 + "}"
    problem(client.post(path, data=deep, headers=headers), 400)


def test_deep_json_on_the_fast_path_is_a_400_problem(app, client, make_key):
    from triage.web.fastpath import TriageFastPath

    headers = {**make_key("intake"), "Content-Type": "application/json"}
    assert client.post("/v1/triage", json={"text": "排队"}, headers=headers).status_code == 200
    fast = app.wsgi_app.inner  # inside the request-id layer
    assert isinstance(fast, TriageFastPath)
    served = fast.served
    problem(client.post("/v1/triage", data="[" * 200_000, headers=headers), 400)
    assert client.post("/v1/triage", json={"text": "排队"}, headers=headers).status_code == 200
    assert fast.served == served + 1


def test_a_long_key_name_is_recorded_on_events_and_corrections(client, make_key):
    intake = make_key("intake")
    name = "复核" * 50  # 100 characters: the longest name a key may have
    reviewer = make_key("reviewer", name=name)
    code = client.post("/v1/tickets", json={"text": "营业执照排队太久"}, headers=intake).get_json()["code"]
    r = client.post(f"/v1/tickets/{code}/events", json={"type": "dispatched"}, headers=reviewer)
    assert r.status_code == 201, r.get_data(as_text=True)[:300]
    r = client.post(f"/v1/tickets/{code}/corrections", json={}, headers=reviewer)
    assert r.status_code in (200, 201), r.get_data(as_text=True)[:300]
    full = client.get(f"/v1/tickets/{code}/full", headers=reviewer).get_json()
    actors = [e["actor"] for e in full["events"]] + [c["by"] for c in full["corrections"]]
    assert all(len(a) <= 100 for a in actors)
    assert actors[-1].startswith("复核复核") and actors[-1].endswith(")")


def test_a_key_name_too_long_for_the_database_is_refused_with_one_sentence(app):
    from triage.errors import BadInput
    from triage.service.keys import create_key

    session = app.extensions["triage.db"].session()
    try:
        with pytest.raises(BadInput, match="at most 100 characters"):
            create_key(session, "reviewer", "x" * 101)
        with pytest.raises(BadInput, match="name"):
            create_key(session, "reviewer", "   ")
    finally:
        session.close()
