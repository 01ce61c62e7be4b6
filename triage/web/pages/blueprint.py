"""The staff pages' blueprint: HTML for people, next to the JSON API for programs.

Pages are public at the API-key layer (``access.public``) and check a signed-in session
themselves (``auth.signed_in``); every POST carries a per-session CSRF token."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Blueprint, Response, render_template, send_from_directory
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from triage.web.access import public

__all__ = ["bp"]

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
bp = Blueprint("pages", __name__, template_folder="templates")

# Defence in depth behind autoescaping: no inline script, no framing, forms post here only.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
ERROR_TEXT = {
    400: "请求无效：表单已过期或缺少校验码，请刷新页面后重试。",
    403: "您的密钥无权访问此页面。",
    404: "找不到该页面或工单。",
    405: "不支持此操作方式。",
}


@bp.get("/pages/static/<path:filename>")
@public
def static(filename: str) -> Response:
    return send_from_directory(HERE / "static", filename, max_age=300)


@bp.after_request
def _headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Content-Type-Options"] = "nosniff"
    if response.mimetype == "text/html":
        response.headers["Cache-Control"] = "no-store"  # pages hold citizens' messages
    return response


def error_page(status: int, message: str | None = None) -> tuple[str, int]:
    text = message or ERROR_TEXT.get(status, "出错了，请稍后重试。")
    return render_template("pages/error.html", status=status, message=text), status


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> tuple[str, int]:
    return error_page(exc.code or 500)


@bp.errorhandler(OperationalError)
def _database_down(_exc: OperationalError) -> tuple[str, int]:
    log.error("database unavailable on a page")
    return error_page(503, "数据库暂时无法连接，请稍后重试。")


@bp.errorhandler(Exception)
def _unexpected(exc: Exception) -> tuple[str, int]:
    log.exception("unhandled error on a page")
    return error_page(500, "系统出错，已记录日志。请稍后重试。")
