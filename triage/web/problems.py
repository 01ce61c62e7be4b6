"""The one error shape of the API: RFC 9457 problem+json, made here and nowhere else."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, json
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from triage.service.scoping import OutOfScope

__all__ = ["ApiError", "install", "problem", "problem_body"]

log = logging.getLogger(__name__)
TYPE_BASE = "https://triage.example/problems/"


class ApiError(Exception):
    """Raise anywhere in a request to answer with a problem response."""

    def __init__(
        self,
        status: int,
        detail: str,
        title: str | None = None,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.detail, self.title = status, detail, title
        self.errors, self.headers = errors, headers or {}


_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request too large",
    415: "Unsupported media type",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
    507: "Insufficient storage",
}


def problem_body(
    status: int, detail: str, title: str | None = None, errors: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    """The JSON of a problem response (also the examples in /openapi.json)."""
    title = title or _TITLES.get(status, "Error")
    body: dict[str, Any] = {
        "type": TYPE_BASE + title.lower().replace(" ", "-"),
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    return body


def problem(
    status: int,
    detail: str,
    title: str | None = None,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body = problem_body(status, detail, title, errors)
    response = Response(
        json.dumps(body, ensure_ascii=False), status=status, mimetype="application/problem+json"
    )
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def field_errors(exc: ValidationError) -> list[dict[str, str]]:
    out = []
    for err in exc.errors(include_url=False, include_input=False):
        field = ".".join(str(p) for p in err["loc"]) or "body"
        out.append({"field": field, "message": err["msg"]})
    return out


def validation_problem(exc: ValidationError) -> Response:
    errors = field_errors(exc)
    fields = ", ".join(sorted({e["field"] for e in errors}))
    return problem(400, f"Invalid request: check {fields}.", errors=errors)


def storage_failure(exc: Exception) -> tuple[int, str, str]:
    """(status, reason, detail) for a database that cannot take the request. A full disk is
    507, not 503: it will not pass by itself in a few seconds. Nothing was stored either way,
    since the transaction did not commit."""
    orig = getattr(exc, "orig", None)
    sqlite_error = getattr(orig, "sqlite_errorname", "") or ""
    if sqlite_error.startswith("SQLITE_FULL") or getattr(orig, "sqlstate", None) == "53100":
        return 507, "disk full", "The server has no room left to store this; nothing was saved."
    if sqlite_error.startswith("SQLITE_READONLY"):
        return 503, "read-only", "The database is read-only right now; nothing was saved."
    return 503, "unreachable", "The database is not reachable right now; try again shortly."


def install(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return problem(exc.status, exc.detail, exc.title, exc.errors, exc.headers)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        if isinstance(exc.response, Response) and exc.response.mimetype == "application/problem+json":
            return exc.response  # already shaped (a validation error raised by abort())
        headers = {}
        if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
            headers["Allow"] = ", ".join(sorted(exc.valid_methods))
        code = exc.code or 500
        return problem(code, exc.description or _TITLES.get(code, "Error"), headers=headers)

    @app.errorhandler(OutOfScope)
    def _out_of_scope(exc: OutOfScope) -> Response:
        return problem(403, str(exc))

    @app.errorhandler(ValidationError)
    def _validation(exc: ValidationError) -> Response:
        return validation_problem(exc)

    @app.errorhandler(OperationalError)
    @app.errorhandler(PoolTimeout)
    def _database_down(exc: Exception) -> Response:
        status, reason, detail = storage_failure(exc)
        log.error("database unavailable (%s): %s", reason, type(exc).__name__)
        return problem(status, detail, headers={"Retry-After": "5" if status == 503 else "60"})

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error")
        return problem(500, "Something went wrong on our side; it has been logged.")
