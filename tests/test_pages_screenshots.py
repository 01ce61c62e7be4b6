"""The pages with five weeks of realistic tickets, in Chromium at 1366x768: the queue, a
ticket and the dashboard render completely (charts included). SAVE_SCREENSHOTS=docs keeps
the pictures for the README."""

import os

import pytest
from browser import TIMEOUT_MS, VIEWPORT, chromium, new_key, page_config, serving, sign_in
from page_data import seed

pytestmark = pytest.mark.slow  # Chromium


@pytest.fixture()
def seeded(make_app, tiny_model_dir, tmp_path):
    app = make_app(page_config(tmp_path, tiny_model_dir))
    seed(app)
    return app


def test_the_pages_render_with_a_realistic_history(seeded, tmp_path):
    from playwright.sync_api import expect

    out = os.environ.get("SAVE_SCREENSHOTS") or str(tmp_path)
    with serving(seeded) as base, chromium() as browser:
        page = browser.new_page(viewport=VIEWPORT, locale="zh-CN")
        page.set_default_timeout(TIMEOUT_MS)
        sign_in(page, base, new_key(seeded, "reviewer", name="王敏"))
        expect(page.locator("tr[data-row]").first).to_be_visible()
        assert page.locator("tr[data-row]").count() >= 10
        page.screenshot(path=f"{out}/review-queue.png")

        page.locator("tr[data-row] a[data-open]").first.click()
        expect(page.locator("#ticket-text")).not_to_be_empty()
        expect(page.locator(".head-card")).to_have_count(3)
        page.screenshot(path=f"{out}/review-ticket.png")

        page.goto(f"{base}/dashboard")
        expect(page.locator(".hotspot").first).to_contain_text("食品经营许可")
        expect(page.locator("figure.chart svg")).to_have_count(5)
        drawn = "() => [...document.querySelectorAll('figure.chart svg')].every(s => s.getBBox().width > 0)"
        page.wait_for_function(drawn)
        page.screenshot(path=f"{out}/dashboard.png", full_page=True)
        page.close()
