"""The seed's scenario: five weeks of ordinary traffic, then one day with thirty complaints
about the food-licence walk-in queue."""

from datetime import timedelta

import pytest
from paths import PROJECT_ROOT
from seeding import CATEGORIES, CHARGING, NOW, ordinary_traffic, queue_spike, session_at, ticket

from triage.service import hotspots

WORDS = hotspots.Words.load(PROJECT_ROOT / "data")


@pytest.fixture()
def session(database_url):
    with session_at(database_url) as s:
        ordinary_traffic(s)
        yield s


def spots(session, days: int) -> list[dict]:
    found = hotspots.spikes(session, NOW, timedelta(days=days), timedelta(days=28), WORDS)
    assert found["tested"] > 2 * len(CATEGORIES)  # categories, departments and cells
    return found["hotspots"]


def test_ordinary_traffic_raises_no_alarm(session):
    assert spots(session, 7) == []
    assert spots(session, 1) == []


@pytest.mark.parametrize("days", [1, 7])
def test_the_queue_spike_is_found_with_its_words(session, days):
    queue_spike(session)
    found = spots(session, days)
    units = {(h["unit"], h["category"], h["department"]) for h in found}
    assert ("category", "queue_waiting", None) in units
    assert ("cell", "queue_waiting", "service_center") in units
    assert not any(h["category"] not in (None, "queue_waiting") for h in found)
    top = found[0]
    assert top["category"] == "queue_waiting" and top["p_value"] < 1e-6
    assert top["window"] >= 30 and top["window"] > 2 * top["expected"]
    terms = [t["term"] for t in top["terms"][:10]]
    assert {"现场号", "预约号", "等候"} <= set(terms), terms
    assert len(top["examples"]) == 5


def test_a_young_database_has_no_baseline_yet(session):
    later = hotspots.spikes(session, NOW + timedelta(days=1), timedelta(days=7), timedelta(days=28), WORDS)
    assert later["baseline_days"] == 28.0
    early = hotspots.spikes(session, NOW - timedelta(days=30), timedelta(days=7), timedelta(days=28), WORDS)
    assert early["hotspots"] == [] and early["tested"] == 0 and "history" in early["note"]


def test_emerging_topic_among_other_and_unsure_tickets(session):
    session.add_all(
        ticket(t, "other", "general_office", created_at=NOW - timedelta(days=i % 5, hours=i))
        for i, t in enumerate(CHARGING)
    )
    session.add_all(
        ticket(t, "tax", "tax_bureau", created_at=NOW - timedelta(days=2), needs_review=True)
        for t in CHARGING[:5]
    )
    session.commit()
    topics = hotspots.emerging(session, NOW, timedelta(days=7), WORDS)
    for group, size in (("other", 5), ("needs_review", 5)):
        assert len(topics[group]) == 1, topics[group]
        topic = topics[group][0]
        assert topic["size"] >= size and len(topic["examples"]) == 5
        assert {"充电", "自行车"} <= {t["term"] for t in topic["terms"][:5]}
    assert topics["needs_review"][0]["categories"] == {"tax": 5}


def test_distinguishing_terms_prefer_what_is_new():
    recent = [["现场号", "排队"], ["现场号", "等候"], ["现场号", "排队", "等候"]] * 4
    before = [["排队", "窗口"], ["排队", "预约"], ["窗口"]] * 10
    terms = [t["term"] for t in hotspots.distinguishing_terms(recent, before)]
    assert terms == ["现场号", "等候"]  # 排队 is as common as before, 窗口 rarer


# -- over HTTP -------------------------------------------------------------------------


def test_hotspots_endpoint(app, client, make_key):
    with session_at(app.config["TRIAGE"].database_url) as s:
        ordinary_traffic(s)
        queue_spike(s)
    at = NOW.isoformat().replace("+00:00", "Z")
    r = client.get(f"/v1/stats/hotspots?window=1d&baseline=4w&at={at}", headers=make_key("reviewer"))
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["hotspots"][0]["category"] == "queue_waiting"
    assert body["window"]["from"] == (NOW - timedelta(days=1)).isoformat()
    assert set(body["emerging"]) == {"other", "needs_review"}
    tax = make_key("department", "tax_bureau")
    mine = client.get(f"/v1/stats/hotspots?window=1d&at={at}", headers=tax).get_json()
    assert mine["department"] == "tax_bureau" and mine["hotspots"] == []
    assert client.get("/v1/stats/hotspots?window=7x", headers=tax).status_code == 400
