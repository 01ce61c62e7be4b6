"""The reviewer page and the dashboard in a real browser (Chromium, headless), against the
app under a real server, on SQLite."""

import csv
import re

import pytest
from browser import TIMEOUT_MS, VIEWPORT, chromium, new_key, page_config, serving, sign_in
from page_data import seed
from paths import PROJECT_ROOT
from serving import built_app

pytestmark = pytest.mark.slow  # Chromium

PAYLOAD = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'


@pytest.fixture(scope="module")
def server(tiny_model_dir, tmp_path_factory):
    config = page_config(tmp_path_factory.mktemp("pages"), tiny_model_dir, review_random_share=1.0)
    with built_app(config) as app:
        seed(app, days=21, per_day=2, extra=10)  # history enough for a hotspot on the dashboard
        with serving(app) as base:
            yield base, app


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors = []  # script errors, and whatever the CSP refused ("Refused to ...")
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "console",
        lambda msg: msg.type == "error" and msg.text.startswith("Refused") and errors.append(msg.text),
    )
    yield page
    context.close()
    assert errors == []


@pytest.fixture(scope="module")
def keys(server):
    _, app = server
    return {"reviewer": new_key(app, "reviewer"), "intake": new_key(app, "intake", name="网站表单")}


@pytest.fixture(scope="module")
def texts():
    with open(PROJECT_ROOT / "data" / "eval" / "handwritten.csv", encoding="utf-8") as fh:
        return [row for row in csv.DictReader(fh)]


def submit(server, keys, text, title=None):
    _, app = server
    headers = {"Authorization": f"Bearer {keys['intake']}"}
    r = app.test_client().post("/v1/tickets", json={"text": text, "title": title}, headers=headers)
    assert r.status_code == 201
    return r.get_json()["code"]


def full(server, keys, code):
    _, app = server
    headers = {"Authorization": f"Bearer {keys['reviewer']}"}
    return app.test_client().get(f"/v1/tickets/{code}/full", headers=headers).get_json()


def xss_ran(page):
    return page.evaluate("typeof window.__xss") != "undefined"


def test_sign_in_with_a_wrong_key_then_a_good_one_then_sign_out(page, server, keys):
    from playwright.sync_api import expect

    base, _ = server
    page.goto(f"{base}/review")
    expect(page).to_have_url(re.compile(r"/sign-in\?next=/review$"))
    page.get_by_label("API 密钥").fill("tk_not_a_key")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("alert")).to_contain_text("密钥无效")
    page.get_by_label("API 密钥").fill(keys["reviewer"])
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(f"{base}/review")
    expect(page.get_by_role("heading", level=1)).to_contain_text("复核队列")
    assert keys["reviewer"] not in str(page.context.cookies())
    page.get_by_role("button", name="退出登录").click()
    expect(page).to_have_url(f"{base}/sign-in")
    page.goto(f"{base}/review")
    expect(page).to_have_url(re.compile(r"/sign-in"))


def test_the_queue_shows_submitted_tickets_and_opens_them_by_keyboard(page, server, keys, texts):
    from playwright.sync_api import expect

    base, _ = server
    codes = [submit(server, keys, row["text"], row["title"] or None) for row in texts[:3]]
    sign_in(page, base, keys["reviewer"])
    for code in codes:
        row = page.locator("tr[data-row]", has=page.get_by_role("link", name=code))
        expect(row).to_be_visible()
        expect(row.locator("meter").first).to_be_visible()  # the model's confidence as a bar
        expect(row).to_contain_text("%")
        expect(row.locator(".badge").first).to_have_text(re.compile("不确定|抽检"))
    first = page.locator("tr[data-row] a[data-open]").first.inner_text()
    page.keyboard.press("j")
    expect(page.locator("tr.current a[data-open]")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(f"/review/tickets/{first}$"))


def test_confirm_and_move_through_the_queue_by_keyboard(page, server, keys, texts):
    from playwright.sync_api import expect

    base, _ = server
    codes = [submit(server, keys, row["text"]) for row in texts[3:6]]
    sign_in(page, base, keys["reviewer"])
    page.goto(f"{base}/review/tickets/{codes[0]}")
    expect(page.locator("#ticket-text")).to_have_text(texts[3]["text"])
    following = page.get_attribute("a[rel=next]", "href")
    page.keyboard.press("c")
    expect(page).to_have_url(f"{base}{following}")
    expect(page.get_by_role("status")).to_contain_text(f"已确认 {codes[0]}")
    record = full(server, keys, codes[0])
    assert len(record["corrections"]) == 1 and record["reviewed_at"]

    here, after = page.url, page.get_attribute("a[rel=next]", "href")
    page.keyboard.press("j")
    expect(page).to_have_url(f"{base}{after}")
    page.keyboard.press("k")
    expect(page).to_have_url(here)


def test_correct_with_the_selects(page, server, keys, texts):
    from playwright.sync_api import expect

    base, _ = server
    code = submit(server, keys, texts[6]["text"])
    sign_in(page, base, keys["reviewer"])
    page.goto(f"{base}/review/tickets/{code}")
    page.keyboard.press("/")
    category = page.locator("#sel-category")
    expect(category).to_be_focused()
    current = category.input_value()
    values = category.locator("option").evaluate_all("els => els.map(e => e.value)")
    chosen = next(v for v in values if v != current)
    category.select_option(chosen)
    page.keyboard.press("Escape")
    page.keyboard.press("c")  # confirming what the form no longer shows is refused
    expect(page.locator(".guard-message")).to_be_visible()
    assert full(server, keys, code)["corrections"] == []
    page.get_by_label("备注").fill("内容属于其他事项")
    page.get_by_role("button", name="提交更正").click()
    expect(page.get_by_role("status")).to_contain_text(f"已更正 {code}")
    [correction] = full(server, keys, code)["corrections"]
    assert correction["verified"]["category"] == chosen
    assert correction["note"] == "内容属于其他事项" and "category" in correction["changed"]


def test_a_script_in_a_complaint_is_shown_as_text_not_run(page, server, keys):
    from playwright.sync_api import expect

    base, _ = server
    code = submit(server, keys, f"营业执照变更进度查询{PAYLOAD}", title=PAYLOAD)
    sign_in(page, base, keys["reviewer"])
    page.goto(f"{base}/review")
    row = page.locator("tr[data-row]", has=page.get_by_role("link", name=code))
    expect(row.locator(".title")).to_have_text(PAYLOAD)
    assert not xss_ran(page)
    page.goto(f"{base}/review/tickets/{code}")
    expect(page.locator("#ticket-title")).to_have_text(PAYLOAD)
    expect(page.locator("#ticket-text")).to_contain_text(PAYLOAD)
    assert not xss_ran(page)
    # Route it to the rising category, so it is the newest example of the dashboard's hotspot.
    page.locator("#sel-category").select_option("food_license")
    page.locator("#sel-department").select_option("market_regulation")
    page.get_by_role("button", name="提交更正").click()
    expect(page.get_by_role("status")).to_contain_text(f"已更正 {code}")
    page.goto(f"{base}/dashboard")
    hotspot = page.locator(".hotspot", has=page.get_by_role("link", name=code)).first
    expect(hotspot.locator(".title")).to_contain_text(PAYLOAD)
    assert not xss_ran(page)


def test_scripts_in_notes_replies_reasons_and_key_names_are_shown_as_text(page, server, keys):
    """Everything staff write lands in the ticket's history: each is text there, never markup."""
    from playwright.sync_api import expect

    base, app = server
    code = submit(server, keys, "食品经营许可证现场核查一直没人来")
    client = app.test_client()
    staff = {"Authorization": f"Bearer {new_key(app, 'reviewer', name=PAYLOAD)}"}

    def post(path, body, headers):
        r = client.post(f"/v1/tickets/{code}/{path}", json=body, headers=headers)
        assert r.status_code < 300, (path, r.get_json())

    def holder_key():
        department = full(server, keys, code)["department"]
        return {"Authorization": f"Bearer {new_key(app, 'department', department=department, name='窗口')}"}

    post("events", {"type": "dispatched", "note": PAYLOAD}, staff)
    post("corrections", {"note": PAYLOAD}, staff)
    post("return", {"reason": PAYLOAD}, holder_key())
    dept = holder_key()  # the department it was sent on to
    post("events", {"type": "accepted"}, dept)
    post("events", {"type": "replied", "public_reply": PAYLOAD, "note": PAYLOAD}, dept)
    sign_in(page, base, keys["reviewer"])
    page.goto(f"{base}/review/tickets/{code}")
    history = page.locator(".history")
    expect(history.locator(".note").filter(has_text=PAYLOAD)).to_have_count(5)  # 3 notes, reply, reason
    expect(history).to_contain_text(f"{PAYLOAD} (")  # the key's name as the actor
    assert not xss_ran(page)
