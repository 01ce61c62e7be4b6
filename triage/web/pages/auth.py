"""Signing in to the staff pages with an API key, and the CSRF token of their forms.

The cookie (Flask's signed session) holds only a random session token, never the key; the
session itself is a database row (triage.service.page_sessions), looked up on every request,
so signing out or revoking the key ends it for every copy of the cookie. A signed-in form's
CSRF token is the row's, not the cookie's."""

from __future__ import annotations

import functools
import hmac
import logging
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import (
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.wrappers import Response

from triage.service import page_sessions
from triage.service.keys import find_key
from triage.storage.schema import ApiKey, PageSession
from triage.web.access import public
from triage.web.pages.blueprint import bp, error_page
from triage.web.state import db_session, settings

__all__ = ["csrf_token", "signed_in"]

log = logging.getLogger(__name__)
SIGN_IN_ROLES = ("reviewer", "department", "admin")
MAX_KEY_LENGTH = 200


def csrf_token() -> str:
    """The signed-in session's token; before sign-in, one kept in the cookie (it guards the
    sign-in form only)."""
    row = _page_session()
    if row is not None:
        return row.csrf
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


@bp.before_request
def _check_csrf() -> None:
    if request.method != "POST":
        return
    row = _page_session()
    sent, expected = request.form.get("csrf_token", ""), row.csrf if row else session.get("csrf", "")
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        log.warning("page POST refused: missing or wrong CSRF token (%s)", request.path)
        abort(400)


def _page_session() -> PageSession | None:
    """This request's live server-side session, looked up once per request."""
    if "page_session" not in g:
        token = session.get("sid")
        hours = float(settings().session_hours)
        g.page_session = page_sessions.find(db_session(), token, hours) if token else None
    found: PageSession | None = g.page_session
    return found


@bp.context_processor
def _template_context() -> dict[str, Any]:
    return {"csrf_token": csrf_token, "me": g.get("page_key")}


def current_key() -> ApiKey | None:
    """The signed-in key if its session is still live; an ended, expired or revoked one is
    forgotten (the cookie too)."""
    row = _page_session()
    if row is None:
        if session.pop("sid", None) is not None:
            flash("登录已失效（已退出、超时或密钥已吊销），请重新登录。", "error")
        return None
    return db_session().get(ApiKey, row.key_id)


def home_for(role: str) -> str:
    return url_for("pages.dashboard") if role == "department" else url_for("pages.queue")


def signed_in(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A page for these roles (admin always): anonymous visitors go to the sign-in page."""

    def wrap(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def page(*args: Any, **kwargs: Any) -> Any:
            key = current_key()
            if key is None:
                wanted = request.full_path.rstrip("?") if request.method == "GET" else None
                return redirect(url_for("pages.sign_in", next=wanted))
            if key.role not in roles and key.role != "admin":
                return error_page(403)
            g.key = g.page_key = key  # g.key makes access.actor() name this key in records
            return view(*args, **kwargs)

        return public(page)  # public at the API-key layer; the session is checked above

    return wrap


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site: never another host (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


@bp.get("/sign-in")
@public
def sign_in() -> Any:
    key = current_key()
    if key is not None:
        return redirect(_safe_next(request.args.get("next")) or home_for(key.role))
    return render_template("pages/sign_in.html", next=_safe_next(request.args.get("next")))


@bp.post("/sign-in")
@public
def sign_in_post() -> Any:
    secret = request.form.get("key", "").strip()
    target = _safe_next(request.form.get("next"))
    key = find_key(db_session(), secret) if 0 < len(secret) <= MAX_KEY_LENGTH else None
    if key is None:
        message, status = "密钥无效：不存在、输入有误或已被吊销。", 401
    elif key.role not in SIGN_IN_ROLES:
        message, status = "录入密钥不能登录工作台，请使用复核员、部门或管理员密钥。", 403
    else:
        old = session.get("sid")
        if old:
            page_sessions.end(db_session(), old)
        session.clear()  # a fresh session, and a fresh CSRF token, for the new identity
        session["sid"] = page_sessions.start(db_session(), key)
        session.permanent = True  # the cookie goes too; the row decides (TRIAGE_SESSION_HOURS)
        g.pop("page_session", None)
        log.info("page sign-in: %s (%s) as %s", key.name, key.prefix, key.role)
        return redirect(target or home_for(key.role))
    return render_template("pages/sign_in.html", next=target, error=message), status


@bp.post("/sign-out")
@public
def sign_out() -> Response:
    token = session.get("sid")
    if token:
        page_sessions.end(db_session(), token)  # every copy of the cookie stops working now
    session.clear()
    flash("已退出登录。", "info")
    return redirect(url_for("pages.sign_in"))
