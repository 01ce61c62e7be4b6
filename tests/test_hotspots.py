"""The seed's scenario: five weeks of ordinary traffic, then one day with thirty complaints
about the food-licence walk-in queue."""

from collections import Counter
from datetime import timedelta

import numpy as np
import pytest
import seeding
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


def test_distinguishing_terms_of_a_one_word_vocabulary_are_none():
    # Every message is the same single word: there is no other word to hold odds against
    # (this divided by zero).
    assert hotspots.distinguishing_terms([["噪音"]] * 3, [["噪音"]] * 2) == []
    assert hotspots.distinguishing_terms([["噪音"]] * 3, []) == []
    assert hotspots.terms_of_counts(Counter({"噪音": 4}), Counter({"噪音": 4})) == []


def test_a_spike_of_one_word_messages_is_reported_without_terms(database_url):
    with session_at(database_url) as s:
        for day in range(1, 36):
            for _ in range(1 if day > 7 else 8):
                s.add(ticket("噪音", "noise", "ecology", created_at=NOW - timedelta(days=day, hours=1)))
        s.commit()
        found = hotspots.report(s, now=NOW, words=hotspots.Words())
    spot = next(h for h in found["hotspots"] if h["unit"] == "category")
    assert spot["category"] == "noise" and spot["terms"] == []


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


# -- the numpy statistics equal the scipy / scikit-learn functions they replace -----------


def test_binomial_tail_and_q_values_equal_scipys():
    from scipy.stats import binom, false_discovery_control

    from triage.service.grouping import bh_qvalues, binom_sf

    rng = np.random.default_rng(1)
    for _ in range(500):
        n = int(rng.integers(0, 2000))
        k, p = int(rng.integers(-1, n + 2)), float(rng.uniform(0.01, 0.99))
        assert binom_sf(k, n, p) == pytest.approx(float(binom.sf(k, n, p)), rel=1e-9, abs=1e-300)
    ps = rng.uniform(0, 1, 60) ** 3
    assert np.allclose(bh_qvalues(ps), false_discovery_control(ps, method="bh"), rtol=0, atol=1e-15)


def test_clusters_equal_scikit_learns_average_linkage():
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.feature_extraction.text import TfidfVectorizer

    from triage.service.grouping import average_linkage, cosine_similarity

    texts = [row["text"] for row in seeding.messages("food_license")[:120] + seeding.messages("tax")[:120]]
    docs = [WORDS(t) for t in texts + texts[:10]]  # some twice: distance 0
    background = [WORDS(row["text"]) for row in seeding.messages("queue_waiting")]
    tfidf = TfidfVectorizer(analyzer=lambda d: d, sublinear_tf=True).fit([*background, *docs])
    vectors = tfidf.transform(docs)
    assert np.allclose(cosine_similarity(docs, background), (vectors @ vectors.T).toarray(), atol=1e-12)
    distance = np.clip(1.0 - (vectors @ vectors.T).toarray(), 0.0, 2.0)

    def groups(labels):
        return sorted(sorted(i for i, x in enumerate(labels) if x == label) for label in set(labels))

    for threshold in (0.3, 0.8, 0.95):
        reference = AgglomerativeClustering(
            n_clusters=None, metric="precomputed", linkage="average", distance_threshold=threshold
        ).fit_predict(distance)
        assert groups(average_linkage(distance, threshold)) == groups(list(reference))
    assert len(groups(average_linkage(distance, 0.8))) < len(docs)
    # clusters() takes identical messages as one weighted point: the same groups.
    reference = AgglomerativeClustering(
        n_clusters=None,
        metric="precomputed",
        linkage="average",
        distance_threshold=1 - hotspots.MIN_SIMILARITY,
    ).fit_predict(distance)
    assert any(docs.count(d) > 1 for d in docs)
    expected = [[i for i in g if docs[i]] for g in groups(list(reference))]  # clusters() skips empty ones
    assert sorted(hotspots.clusters(docs, 1, background)) == sorted(g for g in expected if g)
