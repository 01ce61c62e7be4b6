import json
from datetime import timedelta

import pytest
import sqlalchemy
from seeding import NOW, messages, prediction, session_at

from triage.service import repeats
from triage.service import tickets as svc
from triage.storage import rollups
from triage.storage.schema import Ticket
from triage.web import ticket_views

POLICY = repeats.RepeatPolicy(window_days=30, threshold=0.6)
COMPLAINT = (
    "食品经营许可窗口现场号排队等了两个小时，预约号一直优先叫号，现场只开了一个窗口，"
    "工作人员说没有办法，希望增加窗口或者分开叫号。"
)
# A re-submission: other punctuation, a changed word, and an angry ending.
RESUBMITTED = (
    "食品经营许可窗口现场号排队等了两个多小时!预约号一直优先叫号 现场只开了一个窗口,"
    "工作人员说没办法，希望增加窗口或者分开叫号。我上周已经反映过了"
)


@pytest.fixture()
def session(database_url):
    with session_at(database_url) as s:
        yield s


def intake(session, text, category="queue_waiting", now=NOW, **contact):
    return svc.create_ticket(
        session,
        text=text,
        title=None,
        channel="web",
        contact=contact,
        prediction=prediction(category, "service_center"),
        days=10,
        tz="Asia/Shanghai",
        repeats=POLICY,
        now=now,
    )


def test_a_resubmission_with_small_edits_joins_the_first_tickets_cluster(session):
    first = intake(session, COMPLAINT)
    assert first.duplicate_of is None and first.cluster_id is None
    second = intake(session, RESUBMITTED, now=NOW + timedelta(days=3))
    third = intake(session, COMPLAINT + "第三次了", now=NOW + timedelta(days=4))
    assert second.duplicate_of == first.id
    assert second.cluster_id == first.id == first.cluster_id == third.cluster_id
    assert repeats.cluster_view(third) == {"id": first.id, "size": 3}
    assert ticket_views.summary_view(first)["cluster"] == {"id": first.id, "size": 3}


def test_linking_opens_the_earlier_tickets_cluster_without_loading_its_row(database_url):
    with session_at(database_url) as s:
        first_id = intake(s, COMPLAINT).id
    with session_at(database_url) as s:  # the earlier ticket is not in this session
        statements: list[str] = []
        engine = s.get_bind()
        listen = sqlalchemy.event.listen
        listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
        second = intake(s, RESUBMITTED, now=NOW + timedelta(days=1))
        assert second.duplicate_of == second.cluster_id == first_id
        # Its texts and prediction are never read (nor the rollups' snapshot of it).
        assert not [q for q in statements if "FROM tickets" in q and "tickets.prediction" in q]
        assert not [q for q in statements if "FROM returns" in q or "FROM corrections" in q]
    with session_at(database_url) as s:
        assert s.get(Ticket, first_id).cluster_id == first_id
        assert rollups.stored(s) == {k: n for k, n in rollups.count(s, []).items() if n}


def test_different_complaints_in_the_same_category_stay_apart(session):
    texts = [m["text"] for m in messages("queue_waiting")[:60]]
    created = [intake(session, t, now=NOW + timedelta(minutes=i)) for i, t in enumerate(texts)]
    assert [t.code for t in created if t.cluster_id is not None] == []
    assert ticket_views.summary_view(created[0])["cluster"] is None


def test_same_text_in_another_category_does_not_link(session):
    intake(session, COMPLAINT, category="food_license")
    assert intake(session, COMPLAINT, category="queue_waiting").duplicate_of is None


def test_closed_and_old_tickets_attract_no_links(session):
    closed = intake(session, COMPLAINT)
    svc.add_event(session, closed, "closed", "test", now=NOW)
    assert intake(session, COMPLAINT, now=NOW + timedelta(hours=1)).duplicate_of is None

    old_text = "社保窗口说单位参保登记要先去税务窗口，税务窗口又说要先办社保，来回跑了三趟"
    intake(session, old_text, category="social_security", now=NOW - timedelta(days=31))
    new = intake(session, old_text, category="social_security")
    assert new.duplicate_of is None
    svc.add_event(session, new, "closed", "test", now=NOW)
    recent = intake(session, old_text, category="social_security", now=NOW - timedelta(days=29))
    assert intake(session, old_text, category="social_security").duplicate_of == recent.id


def test_shingles_ignore_punctuation_and_jaccard_is_exact():
    a = repeats.shingles("排队，两小时！")
    assert a == repeats.shingles("排队 两小时") == {"排队两", "队两小", "两小时"}
    assert repeats.jaccard(a, repeats.shingles("排队两小时了")) == pytest.approx(3 / 4)
    assert len(repeats.band_hashes(a)) == repeats.BANDS
    assert repeats.band_hashes(a) == repeats.band_hashes(repeats.shingles("排队两小时"))


# -- over HTTP: what the submitter is told --------------------------------------------


def post(client, headers, **contact):
    body = {"text": COMPLAINT, "channel": "window", "contact": contact}
    r = client.post("/v1/tickets", json=body, headers=headers)
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def test_intake_never_hands_out_another_tickets_code_but_staff_see_the_link(client, make_key):
    intake_key, reviewer = make_key("intake"), make_key("reviewer")
    first = post(client, intake_key, phone="13812345678")
    assert first["linked"] is False and "repeat_of" not in first

    # The same phone number written differently is no proof of who is typing it.
    again = post(client, intake_key, phone="+86 138 1234 5678")
    assert again["linked"] is True and "repeat_of" not in again
    assert first["code"] not in json.dumps(again)

    stranger = client.post(
        "/v1/tickets",
        json={"text": COMPLAINT, "contact": {"email": "wang@example.com"}},
        headers=intake_key,
    )
    assert stranger.status_code == 201
    assert stranger.get_json()["linked"] is True and "repeat_of" not in stranger.get_json()
    assert first["code"] not in stranger.get_data(as_text=True)
    assert again["code"] not in stranger.get_data(as_text=True)

    staff = client.get(f"/v1/tickets/{again['code']}/full", headers=reviewer).get_json()
    assert staff["repeat_of"] == first["code"]
    full = client.get(f"/v1/tickets/{stranger.get_json()['code']}/full", headers=reviewer).get_json()
    assert full["cluster"]["size"] == 3
    listing = client.get("/v1/tickets", headers=reviewer).get_json()["items"]
    assert {row["cluster"]["size"] for row in listing} == {3}
