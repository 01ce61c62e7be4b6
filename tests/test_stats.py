"""Every figure of the summary against values computed by hand on six tickets."""

from datetime import UTC, datetime, timedelta

import pytest
from seeding import HEADS, session_at, ticket, verdict
from sqlalchemy import func, select

from triage.service import stats
from triage.storage.schema import Return, Ticket

T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
NOW = datetime(2026, 11, 10, tzinfo=UTC)
START, END = datetime(2026, 11, 1, 16, 0, tzinfo=UTC), datetime(2026, 11, 9, 16, 0, tzinfo=UTC)


def seed(session) -> None:
    def closed(hours: float) -> dict:
        return {"status": "closed", "closed_at": T0 + timedelta(hours=hours)}

    t1 = ticket("a", "queue_waiting", "service_center", "complaint", T0, **closed(10))
    t2 = ticket("b", "queue_waiting", "service_center", "suggestion", T0, channel="window", **closed(30))
    t3 = ticket(
        "c", "tax", "tax_bureau", "consultation", T0, channel="phone", needs_review=True,
        review_reason="uncertain", **closed(50),
    )  # fmt: skip
    t4 = ticket(
        "d", "tax", "tax_bureau", "complaint", T0, due_at=T0 + timedelta(days=2),
        review_reason="quality_check",
    )  # fmt: skip
    t5 = ticket(
        "e", "food_license", "market_regulation", "consultation", T0, channel="app",
        status="dispatched", due_at=datetime(2099, 1, 1, tzinfo=UTC), review_reason="returned",
    )  # fmt: skip
    # 23:00 on 1 November in Shanghai: outside a period that starts on 2 November there.
    t6 = ticket("f", "other", "general_office", "complaint", datetime(2026, 11, 1, 15, 0, tzinfo=UTC))
    t1.corrections.append(verdict("category,kind", category="tax", department="service_center", kind="x"))
    t3.corrections.append(verdict("category", category="other", department="tax_bureau", kind="x"))
    t3.corrections.append(verdict("", category="tax", department="tax_bureau", kind="consultation"))
    t4.corrections.append(verdict("kind", category="tax", department="tax_bureau", kind="consultation"))
    t6.corrections.append(verdict("category", category="tax", department="general_office", kind="x"))
    t5.returns.append(
        Return(department="tax_bureau", actor="d", reason="not ours", routed_to="market_regulation")
    )
    session.add_all([t1, t2, t3, t4, t5, t6])
    session.commit()


@pytest.fixture()
def session(database_url):
    with session_at(database_url) as s:
        seed(s)
        yield s


def test_summary_of_a_period_matches_hand_computed_figures(session):
    s = stats.summary(session, START, END, now=NOW, heads=HEADS)
    assert s["total"] == 5
    assert s["counts"]["category"] == {"queue_waiting": 2, "tax": 2, "food_license": 1}
    assert s["counts"]["department"] == {"service_center": 2, "tax_bureau": 2, "market_regulation": 1}
    assert s["counts"]["kind"] == {"complaint": 2, "consultation": 2, "suggestion": 1}
    assert s["counts"]["channel"] == {"web": 2, "app": 1, "phone": 1, "window": 1}
    assert s["counts"]["status"] == {"closed": 3, "dispatched": 1, "received": 1}
    # closed after 10, 30 and 50 hours: median 30, 90th percentile 30 + 0.8 * 20
    assert s["time_to_close_hours"] == {"n": 3, "median": 30.0, "p90": 46.0}
    assert s["overdue"] == {"n": 1, "share": 0.2}  # t4: open, due 4 Nov
    assert s["routing"]["auto_routed"] == {"n": 4, "share": 0.8}
    assert s["routing"]["sent_to_review"] == {"n": 1, "share": 0.2}
    assert s["routing"]["review_reasons"] == {
        "uncertain": 1,
        "quality_check": 1,
        "returned": 1,
        "returned_twice": 0,
    }
    assert s["returned"] == {"n": 1, "share": 0.2}


def test_live_accuracy_uses_each_tickets_latest_verdict(session):
    acc = stats.summary(session, START, END, now=NOW, heads=HEADS)["live_accuracy"]
    # t1 changed category and kind; t3's latest verdict confirms; t4 changed kind.
    assert {h: (a["accuracy"], a["n"]) for h, a in acc.items()} == {
        "category": (round(2 / 3, 4), 3),
        "department": (1.0, 3),
        "kind": (round(1 / 3, 4), 3),
    }
    low, high = acc["department"]["ci95"]
    assert 0.4 < low < 0.5 and high == 1.0  # Wilson: 3 of 3 is not certainty
    sampled = stats.summary(session, START, END, now=NOW, heads=HEADS)["live_accuracy_quality_check"]
    assert {h: (a["accuracy"], a["n"]) for h, a in sampled.items()} == {
        "category": (1.0, 1),
        "department": (1.0, 1),
        "kind": (0.0, 1),
    }


def test_one_department_and_no_period(session):
    s = stats.summary(session, department="tax_bureau", now=NOW, heads=HEADS)
    assert s["total"] == 2 and s["counts"]["status"] == {"closed": 1, "received": 1}
    assert s["live_accuracy"]["kind"] == {"accuracy": 0.5, "n": 2, "ci95": [0.0945, 0.9055]}
    everything = stats.summary(session, now=NOW, heads=HEADS)
    assert everything["total"] == 6 and everything["live_accuracy"]["category"]["n"] == 4


def test_an_empty_period_has_counts_of_zero_and_no_rates(session):
    s = stats.summary(session, END, END + timedelta(days=1), now=NOW, heads=HEADS)
    assert s["total"] == 0 and s["counts"]["category"] == {}
    assert s["time_to_close_hours"] == {"n": 0, "median": None, "p90": None}
    assert s["overdue"] == {"n": 0, "share": None}
    assert s["live_accuracy"]["category"] == {"accuracy": None, "n": 0, "ci95": None}


# -- over HTTP -------------------------------------------------------------------------


@pytest.fixture()
def seeded(app):
    with session_at(app.config["TRIAGE"].database_url) as s:
        seed(s)
    return app


def test_summary_endpoint_reads_local_days(seeded, client, make_key):
    r = client.get("/v1/stats/summary?from=2026-11-02&to=2026-11-09", headers=make_key("reviewer"))
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["total"] == 5 and body["period"]["from"] == START.isoformat()
    assert body["time_to_close_hours"]["median"] == 30.0
    wider = client.get("/v1/stats/summary?from=2026-11-01", headers=make_key("admin")).get_json()
    assert wider["total"] == 6


def test_a_department_key_sees_only_its_own_figures(seeded, client, make_key):
    tax = make_key("department", "tax_bureau")
    body = client.get("/v1/stats/summary", headers=tax).get_json()
    assert body["total"] == 2 and body["period"]["department"] == "tax_bureau"
    r = client.get("/v1/stats/summary?department=service_center", headers=tax)
    assert r.status_code == 403 and r.mimetype == "application/problem+json"


def test_bad_periods_are_400_problems(seeded, client, make_key):
    headers = make_key("reviewer")
    for query in ("from=2026-11-09&to=2026-11-02", "from=yesterday", "to=2026-13-01", "until=2026"):
        r = client.get(f"/v1/stats/summary?{query}", headers=headers)
        assert r.status_code == 400, query
        assert r.mimetype == "application/problem+json" and r.get_json()["detail"]


def test_far_off_dates_mean_no_bound_not_an_error(seeded, client, make_key):
    headers = make_key("reviewer")
    body = client.get("/v1/stats/summary?from=0001-01-01&to=9999-12-31", headers=headers).get_json()
    assert body["total"] == 6
    r = client.get("/v1/stats/hotspots?at=0001-01-01T00:00:00Z&window=9999w&baseline=9999w", headers=headers)
    assert r.status_code == 200 and r.get_json()["hotspots"] == []


def test_query_dates_must_be_written_dates(client, make_key):
    staff = make_key("reviewer")
    assert client.get("/v1/stats/hotspots?at=1700000000", headers=staff).status_code == 400
    assert client.get("/v1/stats/summary?from=20261101", headers=staff).status_code == 400
    assert client.get("/v1/stats/summary?from=2026-11-01", headers=staff).status_code == 200


def test_statistics_read_the_replica_when_one_is_set(make_app, app_config, tmp_path):
    """TRIAGE_STATS_DATABASE_URL: the summary and hotspots count the replica's tickets (here
    a second database holding five weeks), intake writes to the main one."""
    from seeding import ordinary_traffic

    from triage.service.keys import create_key

    replica = f"sqlite:///{tmp_path / 'replica.db'}"
    with session_at(replica) as s:
        ordinary_traffic(s)
        held = s.scalar(select(func.count()).select_from(Ticket))
    app = make_app({**app_config, "stats_database_url": replica})
    with app.app_context():
        session = app.extensions["triage.db"].session()
        _, secret = create_key(session, "reviewer", "test", None)
        _, intake = create_key(session, "intake", "test", None)
        session.close()
    client = app.test_client()
    staff = {"Authorization": f"Bearer {secret}"}
    writer = {"Authorization": f"Bearer {intake}"}
    r = client.post("/v1/tickets", json={"text": "窗口排队两个小时"}, headers=writer)
    assert r.status_code == 201
    assert client.get("/v1/stats/summary", headers=staff).get_json()["total"] == held > 1
    assert client.get("/v1/stats/hotspots", headers=staff).status_code == 200
    with session_at(replica) as s:
        assert s.scalar(select(func.count()).select_from(Ticket)) == held  # intake wrote to the main one
