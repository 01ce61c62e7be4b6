import re

import pytest

TEXT = "我叫张三，在区行政服务中心排队两个小时，窗口只开两个，电话13812345678，身份证11010519491231002X"


@pytest.fixture()
def intake(make_key):
    return make_key("intake")


def submit(client, headers, text=TEXT, **extra):
    r = client.post("/v1/tickets", json={"text": text, **extra}, headers=headers)
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def test_intake_returns_code_routing_tips_and_due_date(client, intake):
    body = submit(client, intake, channel="window", contact={"name": "张三", "phone": "13812345678"})
    assert re.fullmatch(r"\w{5}-\w{5}-\w{5}", body["code"])
    assert body["status"] == "received"
    assert body["routing"]["category"]["label"]
    assert 1 <= len(body["tips"]) <= 3
    assert all(t["title"] and t["answer"] for t in body["tips"])
    assert body["due_at"] > "2026"


def test_original_is_stored_and_the_learning_copy_is_masked(app, client, intake, make_key):
    code = submit(client, intake, contact={"phone": "13812345678"})["code"]
    full = client.get(f"/v1/tickets/{code}/full", headers=make_key("reviewer")).get_json()
    assert full["text"] == TEXT
    assert full["contact"]["phone"] == "13812345678"
    assert "13812345678" not in full["text_masked"] and "[PHONE]" in full["text_masked"]
    assert "11010519491231002X" not in full["text_masked"] and "[ID]" in full["text_masked"]


def test_public_lookup_shows_status_but_nothing_personal(client, intake):
    code = submit(client, intake, contact={"name": "张三", "phone": "13812345678"})["code"]
    r = client.get(f"/v1/tickets/{code.lower().replace('-', '')}")
    assert r.status_code == 200
    body = r.get_json()
    assert body["status"] == "received" and body["department"]["name"]
    assert [h["status"] for h in body["history"]] == ["received"]
    raw = r.get_data(as_text=True)
    for secret in ("张三", "13812345678", "排队", "11010519491231002X"):
        assert secret not in raw


def test_lookup_errors(client):
    assert client.get("/v1/tickets/ABC").status_code == 400
    from triage.service.codes import new_code

    assert client.get(f"/v1/tickets/{new_code()}").status_code == 404
    code = new_code()
    typo = code[:-1] + ("0" if code[-1] != "0" else "1")
    r = client.get(f"/v1/tickets/{typo}")
    assert r.status_code == 400 and "check character" in r.get_json()["detail"]


@pytest.mark.app_settings(lookup_rate_limit="3 per minute")
def test_lookups_are_rate_limited_per_client(client):
    from triage.service.codes import new_code

    statuses = [client.get(f"/v1/tickets/{new_code()}").status_code for _ in range(5)]
    assert statuses[:3] == [404, 404, 404]
    assert statuses[3:] == [429, 429]
    r = client.get(f"/v1/tickets/{new_code()}")
    assert r.get_json()["status"] == 429 and "Retry-After" in r.headers


def test_status_moves_through_the_legal_transitions(client, intake, make_key):
    code = submit(client, intake)["code"]
    staff = make_key("reviewer")

    def event(type_, **extra):
        return client.post(f"/v1/tickets/{code}/events", json={"type": type_, **extra}, headers=staff)

    assert event("accepted").status_code == 409  # not dispatched yet
    assert event("dispatched", note="转窗口科").status_code == 201
    assert event("accepted").status_code == 201
    assert event("replied").status_code == 400  # a reply needs its public text
    assert event("replied", public_reply="已增开两个窗口。", note="内部备注").status_code == 201
    assert event("closed").status_code == 201
    assert event("dispatched").status_code == 409  # closed is final
    public = client.get(f"/v1/tickets/{code}").get_json()
    assert public["status"] == "closed"
    assert [h["status"] for h in public["history"]] == [
        "received",
        "dispatched",
        "accepted",
        "replied",
        "closed",
    ]
    assert public["history"][3]["public_reply"] == "已增开两个窗口。"
    assert "内部备注" not in str(public) and "转窗口科" not in str(public)


def test_staff_listing_filters_and_pages(client, intake, make_key):
    codes = [
        submit(client, intake, text=t)["code"] for t in ("排队太久了", "公司注销要登报吗", "社保断缴怎么补")
    ]
    staff = make_key("reviewer")
    r = client.get("/v1/tickets?per_page=2", headers=staff)
    body = r.get_json()
    assert body["total"] == 3 and len(body["items"]) == 2 and body["items"][0]["code"] == codes[-1]
    page2 = client.get("/v1/tickets?per_page=2&page=2", headers=staff).get_json()
    assert [i["code"] for i in page2["items"]] == [codes[0]]
    dept = body["items"][0]["department"]
    filtered = client.get(f"/v1/tickets?department={dept}", headers=staff).get_json()
    assert all(i["department"] == dept for i in filtered["items"])
    assert client.get("/v1/tickets?status=closed", headers=staff).get_json()["total"] == 0
    assert client.get("/v1/tickets?overdue=true", headers=staff).get_json()["total"] == 0
    assert client.get("/v1/tickets?page=0", headers=staff).status_code == 400


def test_cursor_pages_walk_every_ticket_once_and_match_page_numbers(client, intake, make_key):
    texts = ("排队太久了", "公司注销要登报吗", "社保断缴怎么补", "路灯坏了", "噪音扰民")
    codes = [submit(client, intake, text=t)["code"] for t in texts]
    staff = make_key("reviewer")
    seen, cursor, pages = [], None, 0
    while True:
        url = "/v1/tickets?per_page=2" + (f"&cursor={cursor}" if cursor else "")
        body = client.get(url, headers=staff).get_json()
        pages += 1
        by_number = client.get(f"/v1/tickets?per_page=2&page={pages}", headers=staff).get_json()
        assert [i["code"] for i in body["items"]] == [i["code"] for i in by_number["items"]]
        assert body["total"] == 5
        seen += [i["code"] for i in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == codes[::-1] and pages == 3
    second = client.get("/v1/tickets?per_page=2", headers=staff).get_json()["next_cursor"]
    both = client.get(f"/v1/tickets?per_page=2&page=3&cursor={second}", headers=staff).get_json()
    assert [i["code"] for i in both["items"]] == codes[::-1][2:4], "the cursor wins over page"
    assert client.get("/v1/tickets?cursor=abc", headers=staff).status_code == 400


def test_overdue_filter_uses_the_due_date(app, client, intake, make_key):
    from datetime import UTC, datetime, timedelta

    from triage.storage import Ticket

    code = submit(client, intake)["code"]
    with app.app_context():
        session = app.extensions["triage.db"].session()
        ticket = session.query(Ticket).filter_by(code=code).one()
        ticket.due_at = datetime.now(UTC) - timedelta(days=1)
        session.commit()
        session.close()
    body = client.get("/v1/tickets?overdue=true", headers=make_key("reviewer")).get_json()
    assert [i["code"] for i in body["items"]] == [code] and body["items"][0]["overdue"]


def test_department_keys_see_only_their_own_tickets(client, intake, make_key):
    code = submit(client, intake)["code"]
    staff = make_key("reviewer")
    owner = client.get(f"/v1/tickets/{code}/full", headers=staff).get_json()["department"]
    other = "tax_bureau" if owner != "tax_bureau" else "service_center"
    mine, theirs = make_key("department", owner), make_key("department", other)
    assert client.get(f"/v1/tickets/{code}/full", headers=mine).status_code == 200
    assert client.get(f"/v1/tickets/{code}/full", headers=theirs).status_code == 403
    assert (
        client.post(f"/v1/tickets/{code}/events", json={"type": "dispatched"}, headers=theirs).status_code
        == 403
    )
    assert client.get("/v1/tickets", headers=theirs).get_json()["total"] == 0
    assert client.get(f"/v1/tickets?department={owner}", headers=theirs).status_code == 403
    assert client.get("/v1/tickets", headers=mine).get_json()["total"] == 1


ONE_DAY_EACH = ",".join(
    f"{c}=1"
    for c in (
        "queue_waiting",
        "appointment",
        "other",
        "company_registration",
        "company_change",
        "company_deregistration",
        "food_license",
        "tax",
        "data_sharing",
        "online_application",
        "service_guide",
        "progress_inquiry",
        "social_security",
        "construction_permit",
    )
)


@pytest.mark.app_settings(open_intake=True, time_limits=ONE_DAY_EACH)
def test_due_date_follows_the_category_time_limit(client):
    from datetime import datetime

    body = client.post("/v1/tickets", json={"text": TEXT}).get_json()
    due = datetime.fromisoformat(body["due_at"])
    assert (due - datetime.now(due.tzinfo)).days <= 4  # one working day, at most a long weekend


def test_a_query_parameter_given_twice_is_a_400_naming_it(client, make_key):
    reviewer = make_key("reviewer")
    r = client.get("/v1/review/queue?department=tax_bureau&department=service_center", headers=reviewer)
    assert r.status_code == 400 and r.get_json()["errors"] == [
        {"field": "department", "message": "given more than once"}
    ]
    assert client.get("/v1/tickets?status=closed&status=received", headers=reviewer).status_code == 400
