"""The staff pages through Flask's test client, on both databases: signing in and out,
CSRF, revoked keys, confirming and correcting."""

import re
from datetime import date

import pytest

TEXT = "营业执照地址变更要带什么材料"


@pytest.fixture()
def app_config(app_config):
    return {**app_config, "review_random_share": 1.0}  # every ticket reaches the queue


@pytest.fixture()
def intake(make_key):
    return make_key("intake")


def secret_of(headers):
    return headers["Authorization"].split(" ", 1)[1]


def csrf(client, path="/sign-in"):
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def sign_in(client, headers, **extra):
    return client.post("/sign-in", data={"key": secret_of(headers), "csrf_token": csrf(client), **extra})


def submit(client, intake, text=TEXT, title=None):
    r = client.post("/v1/tickets", json={"text": text, "title": title}, headers=intake)
    assert r.status_code == 201
    return r.get_json()["code"]


def test_a_reviewer_signs_in_and_the_cookie_holds_no_secret(app, client, make_key):
    reviewer = make_key("reviewer")
    r = sign_in(client, reviewer)
    assert r.status_code == 302 and r.headers["Location"] == "/review"
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert secret_of(reviewer) not in cookie
    value = client.get_cookie("session").value
    data = app.session_interface.get_signing_serializer(app).loads(value)
    assert set(data) <= {"sid", "csrf", "_flashes", "_permanent"}
    assert "Expires=" in cookie  # a session that ends (TRIAGE_SESSION_HOURS), not a forever cookie
    page = client.get("/review").get_data(as_text=True)
    assert '<html lang="zh-CN">' in page and "复核队列" in page


@pytest.mark.parametrize(
    ("key", "status", "message"),
    [("tk_wrong", 401, "密钥无效"), ("", 401, "密钥无效"), (None, 403, "录入密钥不能登录")],
)
def test_a_wrong_key_gets_the_form_again(client, intake, key, status, message):
    key = secret_of(intake) if key is None else key
    r = client.post("/sign-in", data={"key": key, "csrf_token": csrf(client)})
    assert r.status_code == status
    assert message in r.get_data(as_text=True) and 'name="key"' in r.get_data(as_text=True)
    assert client.get("/review").status_code == 302


def test_posts_without_a_valid_csrf_token_are_refused_and_change_nothing(client, make_key, intake):
    reviewer = make_key("reviewer")
    code = submit(client, intake)
    sign_in(client, reviewer)
    for data in ({}, {"csrf_token": "forged"}):
        r = client.post(f"/review/tickets/{code}/confirm", data=data)
        assert r.status_code == 400 and "校验码" in r.get_data(as_text=True)
    assert client.get(f"/v1/tickets/{code}/full", headers=reviewer).get_json()["corrections"] == []
    r = client.post("/sign-in", data={"key": secret_of(reviewer)})  # signing in needs it too
    assert r.status_code == 400


def test_a_revoked_key_ends_the_session_on_the_next_request(app, client, make_key):
    from triage.service.keys import revoke_key

    reviewer = make_key("reviewer")
    sign_in(client, reviewer)
    assert client.get("/review").status_code == 200
    with app.app_context():
        session = app.extensions["triage.db"].session()
        revoke_key(session, secret_of(reviewer).split("_")[1])
        session.close()
    r = client.get("/review")
    assert r.status_code == 302 and r.headers["Location"].startswith("/sign-in")
    assert "登录已失效" in client.get(r.headers["Location"]).get_data(as_text=True)


def test_signing_out_ends_the_session(client, make_key):
    sign_in(client, make_key("reviewer"))
    r = client.post("/sign-out", data={"csrf_token": csrf(client, "/review")})
    assert r.status_code == 302
    assert client.get("/review").status_code == 302


def test_a_cookie_copied_before_sign_out_opens_nothing_and_posts_nothing(app, client, make_key, intake):
    code = submit(client, intake)
    sign_in(client, make_key("reviewer"))
    token = csrf(client, "/review")
    copied = client.get_cookie("session").value
    assert client.post("/sign-out", data={"csrf_token": token}).status_code == 302

    thief = app.test_client()
    thief.set_cookie("session", copied)
    r = thief.get("/review")
    assert r.status_code == 302 and r.headers["Location"].startswith("/sign-in")
    thief.set_cookie("session", copied)  # the refused request cleared it: replay it again
    r = thief.post(f"/review/tickets/{code}/confirm", data={"csrf_token": token})
    assert r.status_code == 400
    thief.set_cookie("session", copied)
    assert thief.get("/review").status_code == 302  # replaying does not bring it back
    with app.app_context():
        from triage.storage.schema import PageSession

        session = app.extensions["triage.db"].session()
        assert session.query(PageSession).count() == 0
        session.close()


def test_a_session_idle_for_longer_than_the_limit_ends(app, client, make_key):
    from datetime import UTC, datetime, timedelta

    from triage.storage.schema import PageSession

    sign_in(client, make_key("reviewer"))
    assert client.get("/review").status_code == 200
    hours = app.config["TRIAGE"].session_hours
    session = app.extensions["triage.db"].session()
    try:
        [row] = session.query(PageSession).all()
        row.seen_at = datetime.now(UTC) - timedelta(hours=hours, minutes=1)
        session.commit()
    finally:
        session.close()
    assert client.get("/review").status_code == 302


def test_sign_in_returns_to_the_page_asked_for_but_never_off_site(client, make_key):
    reviewer = make_key("reviewer")
    r = client.get("/review/tickets/7KQ2M-XR4TB-9HC0P")
    assert r.status_code == 302 and "next=" in r.headers["Location"]
    assert sign_in(client, reviewer, next="/review?head=kind").headers["Location"] == "/review?head=kind"
    client.post("/sign-out", data={"csrf_token": csrf(client, "/review")})
    assert sign_in(client, reviewer, next="//evil.example/x").headers["Location"] == "/review"


def test_a_department_key_gets_the_dashboard_but_not_the_review_page(client, make_key):
    r = sign_in(client, make_key("department", "tax_bureau"))
    assert r.headers["Location"] == "/dashboard"
    assert client.get("/review").status_code == 403
    assert client.get("/dashboard").status_code == 200


def test_confirming_and_correcting_record_corrections(client, make_key, intake):
    reviewer = make_key("reviewer")
    first, second = submit(client, intake), submit(client, intake, "社保卡补办要多久")
    sign_in(client, reviewer)
    page = client.get(f"/review/tickets/{first}").get_data(as_text=True)
    assert first in page and TEXT in page
    token = csrf(client, "/review")
    r = client.post(f"/review/tickets/{first}/confirm", data={"csrf_token": token, "next_code": second})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/review/tickets/{second}")
    record = client.get(f"/v1/tickets/{first}/full", headers=reviewer).get_json()
    assert len(record["corrections"]) == 1 and record["reviewed_at"]

    data = {"csrf_token": token, "category": "pet_licence", "note": "人工核对"}
    r = client.post(f"/review/tickets/{second}/correct", data=data)
    assert r.status_code == 400 and "不是模型已知的标签" in r.get_data(as_text=True)
    data = {**data, "category": "tax", "department": "tax_bureau"}
    assert client.post(f"/review/tickets/{second}/correct", data=data).status_code == 302
    record = client.get(f"/v1/tickets/{second}/full", headers=reviewer).get_json()
    [correction] = record["corrections"]
    assert correction["verified"]["category"] == "tax" and correction["note"] == "人工核对"
    data = {"csrf_token": token, "new_label": "on", "category_new": "pet_licence"}
    assert client.post(f"/review/tickets/{second}/correct", data=data).status_code == 302
    assert client.get(f"/v1/tickets/{second}/full", headers=reviewer).get_json()["category"] == "pet_licence"


def test_an_unknown_ticket_is_a_page_not_a_crash(client, make_key):
    sign_in(client, make_key("reviewer"))
    for code in ("7KQ2M-XR4TB-9HC0P", "not-a-code"):
        r = client.get(f"/review/tickets/{code}")
        assert r.status_code == 404 and "没有这个查询码" in r.get_data(as_text=True)


def test_the_dashboard_holds_a_department_key_to_its_own_department(client, make_key, intake):
    submit(client, intake)
    sign_in(client, make_key("department", "tax_bureau"))
    page = client.get("/dashboard?department=market_regulation&days=7").get_data(as_text=True)
    assert "区税务局" in page.split("</h1>")[0] and 'id="d-dept"' not in page
    svgs = re.findall(r"<svg.*?</svg>", page, re.S)
    assert len(svgs) == 5  # drawn in the page: no image requests
    assert "各部门负荷" in svgs[1] and "区市场监管局" not in svgs[1]
    reviewer = client.application.test_client()
    sign_in(reviewer, make_key("reviewer"))  # sees every department: the ticket is drawn
    svgs = re.findall(r"<svg.*?</svg>", reviewer.get("/dashboard?days=7").get_data(as_text=True), re.S)
    assert "<rect" in svgs[0] and "<rect" in svgs[1] and "局" in svgs[1] and "本期没有工单" not in svgs[1]
    assert client.get("/dashboard/charts/departments.png").status_code == 404


def test_chart_labels_from_the_database_are_escaped():
    from markupsafe import Markup

    from triage.web.pages import charts

    evil = '<script>window.__xss=1</script><img src=x onerror="alert(1)">'
    drawn = [
        charts.volume_svg([(date(2026, 11, 1), evil)], [date(2026, 11, 1)], str, evil),
        charts.departments_svg({evil: {"tickets": 2, "open": 1, "overdue": 1}}, str, evil),
        charts.confusion_svg([(evil, "tax"), ("tax", "tax")], str, evil),
    ]
    for svg in drawn:
        assert isinstance(svg, Markup) and "<script>" not in svg and "<img" not in svg
        assert "&lt;script&gt;" in svg and 'onerror="' not in svg


def test_the_queue_filters_by_department_and_head(client, make_key, intake):
    reviewer = make_key("reviewer")
    codes = [submit(client, intake, text) for text in (TEXT, "社保卡补办要多久", "个税汇算退税什么时候到账")]
    routed = {
        c: client.get(f"/v1/tickets/{c}/full", headers=reviewer).get_json()["department"] for c in codes
    }
    sign_in(client, reviewer)
    department = routed[codes[0]]
    page = client.get(f"/review?department={department}").get_data(as_text=True)
    assert all((code in page) == (routed[code] == department) for code in codes)
    assert f'<option value="{department}" selected>' in page
    page = client.get("/review?head=kind").get_data(as_text=True)
    assert 'value="kind" selected' in page and "复核队列" in page
