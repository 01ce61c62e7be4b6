"""Running the app under a real server and driving Debian's Chromium with Playwright.

Never downloads a browser: Chromium comes from apt (`make test` installs it when missing).
Under CI a missing browser fails the tests; elsewhere they are skipped with the reason."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1366, "height": 768}
#: How long an action or an expectation may wait for its element or state. Playwright's 5 s
#: ran out on a host shared by several test runs; a page that never shows it still fails.
TIMEOUT_MS = 30_000


def unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() not in ("", "0", "false"):
        pytest.fail(f"{reason} (required under CI)")
    pytest.skip(reason)


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium from the system, closed afterwards."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("Playwright is not installed: pip install -e '.[dev]'")
    if not Path(CHROMIUM).exists():
        unavailable(f"No Chromium at {CHROMIUM}: apt-get install chromium (or run make test)")
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """The app under werkzeug's threaded server on a free port; yields its base URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="page-test-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def page_config(tmp: Path, model_dir: Path, **extra: Any) -> dict[str, Any]:
    """Settings for an app on a SQLite file of its own (the browser tests run on SQLite only)."""
    return {
        "database_url": f"sqlite:///{tmp / 'pages.db'}",
        "model": str(model_dir),
        "models_dir": str(tmp / "models"),
        "instance_dir": str(tmp / "instance"),
        "secret_key": "test-secret-key-of-32-characters",
        **extra,
    }


def new_key(app: Any, role: str, department: str | None = None, name: str = "复核员甲") -> str:
    from triage.service.keys import create_key

    session = app.extensions["triage.db"].session()
    try:
        return create_key(session, role, name, department)[1]
    finally:
        session.close()


def sign_in(page: Any, base: str, secret: str) -> None:
    page.goto(f"{base}/sign-in")
    page.get_by_label("API 密钥").fill(secret)
    with page.expect_navigation(timeout=TIMEOUT_MS):  # the form's answer, whatever it says
        page.get_by_role("button", name="登录").click()
