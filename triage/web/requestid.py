"""Every request gets an id: a valid incoming ``X-Request-ID`` or a new one.

The outermost WSGI layer, so the fast path, Flask's answers and every error carry it back as
``X-Request-ID``; while the request runs, :func:`current` names it for log lines (the filter
in triage/cli/logs.py). gunicorn's access log reads it from the response headers.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from typing import Any

__all__ = ["HEADER", "RequestIdLayer", "current"]

HEADER = "X-Request-ID"
_ENVIRON_KEY = "HTTP_X_REQUEST_ID"
# What a proxy or client id looks like (a UUID, a hex or base64url token); anything else,
# including text with spaces or quotes that could forge a log line, is replaced.
_VALID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:+/=-]{7,127}")
_current: ContextVar[str] = ContextVar("triage_request_id", default="-")

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def current() -> str:
    """The id of the request being handled in this thread, ``-`` outside one."""
    return _current.get()


def request_id(environ: dict[str, Any]) -> str:
    given = environ.get(_ENVIRON_KEY, "")
    return given if _VALID.fullmatch(given) else uuid.uuid4().hex


class RequestIdLayer:
    """Wraps the app (fast path included): sets the id for the request and returns it."""

    def __init__(self, inner: WsgiApp) -> None:
        self.inner = inner

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        rid = request_id(environ)
        environ["triage.request_id"] = rid
        token = _current.set(rid)

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            headers = [h for h in headers if h[0].lower() != "x-request-id"]
            headers.append((HEADER, rid))
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        try:
            return self.inner(environ, start)
        finally:
            _current.reset(token)
