"""Intake never answers "not stored" for a stored ticket, and a retried submission with its
Idempotency-Key returns the first ticket instead of making a second, on both databases."""

from __future__ import annotations

from sqlalchemy import func, select

from triage.storage.schema import Ticket

BODY = {"text": "营业执照办理排队两个小时，窗口太少", "channel": "web"}


def count_tickets(app) -> int:
    session = app.extensions["triage.db"].session()
    try:
        return session.scalar(select(func.count()).select_from(Ticket))
    finally:
        session.close()


def test_a_failure_after_the_commit_still_answers_with_the_stored_ticket(app, client, make_key, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from triage.service.tips import TipBook

    def broken(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))

    monkeypatch.setattr(TipBook, "best", broken)
    r = client.post("/v1/tickets", json=BODY, headers=make_key("intake"))
    assert r.status_code == 201, r.get_data(as_text=True)[:300]
    assert r.get_json()["tips"] == [] and count_tickets(app) == 1
    assert client.get(f"/v1/tickets/{r.get_json()['code']}").status_code == 200


def test_the_same_idempotency_key_returns_the_first_ticket(app, client, make_key):
    intake = make_key("intake")
    headers = {**intake, "Idempotency-Key": "5b6c1f9e-7a0d-4c38-9d1e-3f0a2b7c8d41"}
    first = client.post("/v1/tickets", json=BODY, headers=headers)
    assert first.status_code == 201
    again = client.post("/v1/tickets", json={"channel": "web", "text": BODY["text"]}, headers=headers)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["code"] == first.get_json()["code"]
    assert again.get_json()["routing"] == first.get_json()["routing"]
    assert count_tickets(app) == 1

    other = client.post("/v1/tickets", json={**BODY, "text": "另一件事：社保卡补办"}, headers=headers)
    assert other.status_code == 409 and other.mimetype == "application/problem+json"
    # Another caller's key of the same name is its own: no one else's ticket comes back.
    stranger = {**make_key("intake"), "Idempotency-Key": headers["Idempotency-Key"]}
    theirs = client.post("/v1/tickets", json=BODY, headers=stranger)
    assert theirs.status_code == 201 and theirs.get_json()["code"] != first.get_json()["code"]
    assert "Idempotent-Replayed" not in theirs.headers
    assert count_tickets(app) == 2


def test_a_key_older_than_a_day_makes_a_new_ticket(app, client, make_key):
    from datetime import timedelta

    from triage.storage.schema import IdempotencyKey

    headers = {**make_key("intake"), "Idempotency-Key": "retry-key-0001"}
    first = client.post("/v1/tickets", json=BODY, headers=headers).get_json()["code"]
    session = app.extensions["triage.db"].session()
    try:
        row = session.scalar(select(IdempotencyKey))
        row.created_at -= timedelta(hours=24, minutes=1)
        session.commit()
    finally:
        session.close()
    again = client.post("/v1/tickets", json=BODY, headers=headers)
    assert again.status_code == 201 and again.get_json()["code"] != first


def test_an_overlong_idempotency_key_is_a_400_and_a_blank_one_is_no_key(app, client, make_key):
    intake = make_key("intake")
    r = client.post("/v1/tickets", json=BODY, headers={**intake, "Idempotency-Key": "x" * 201})
    assert r.status_code == 400 and r.mimetype == "application/problem+json"
    for _ in range(2):
        r = client.post("/v1/tickets", json=BODY, headers={**intake, "Idempotency-Key": "  "})
        assert r.status_code == 201 and "Idempotent-Replayed" not in r.headers
    assert count_tickets(app) == 2


def test_the_header_is_documented(client):
    spec = client.get("/openapi.json").get_json()
    params = spec["paths"]["/v1/tickets"]["post"]["parameters"]
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in params)


def test_concurrent_retries_with_one_key_make_one_ticket(app, make_key):
    import threading

    headers = {**make_key("intake"), "Idempotency-Key": "concurrent-retry-0001"}
    barrier, answers = threading.Barrier(6), []

    def send() -> None:
        client = app.test_client()
        barrier.wait()
        r = client.post("/v1/tickets", json=BODY, headers=headers)
        answers.append((r.status_code, (r.get_json() or {}).get("code")))

    threads = [threading.Thread(target=send) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {status for status, _ in answers} == {201}, answers
    assert len({code for _, code in answers}) == 1
    assert count_tickets(app) == 1
