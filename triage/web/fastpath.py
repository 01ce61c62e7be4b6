"""POST /v1/triage, the hot endpoint, answered without Flask's per-request machinery.

Flask's request context, URL matching, hooks, extensions and response object cost about as
much CPU as the prediction itself (benchmarks/http_bench.py). This WSGI middleware answers
only the plain case: a JSON body that validates, from a caller the view would let in
without asking the database (a key this process checked moments ago, or open intake). It
runs the view's own rule, schema, prediction function, JSON provider and metrics, so the
answer is the one Flask would give (tests/test_fastpath.py compares them byte for byte).
Anything else (no or unknown key, bad JSON, a validation error, a body too large, no
model) goes to Flask untouched, so every error keeps its one shape from problems.py.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from triage.web import access, metrics
from triage.web.routes_triage import prediction
from triage.web.schemas import TriageIn

if TYPE_CHECKING:
    from flask import Flask

__all__ = ["TriageFastPath"]

log = logging.getLogger(__name__)

PATH = "/v1/triage"
ENDPOINT = "triage.triage_one"
StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class TriageFastPath:
    """Wraps ``app.wsgi_app``; ``served`` counts the requests answered here."""

    def __init__(self, app: Flask, inner: WsgiApp) -> None:
        self.app = app
        self.inner = inner
        self.json = app.json
        self.holder = app.extensions["triage.models"]
        self.settings = app.config["TRIAGE"]
        view: Any = app.view_functions[ENDPOINT]  # marked by access.access(): the triage view's rule
        self.rule: access.Access = view._access
        self.max_body = int(app.config["MAX_CONTENT_LENGTH"])
        self.served = 0

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") != "POST":
            return self.inner(environ, start_response)
        started = time.perf_counter()
        body = self._answer(environ)
        if body is None:
            return self.inner(environ, start_response)
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        metrics.count_request(ENDPOINT, "POST", 200, started)
        self.served += 1
        return [body]

    def _answer(self, environ: dict[str, Any]) -> bytes | None:
        """The response body, or None to let Flask answer (it may give the same 200)."""
        model = self.holder.current
        if model is None or not self._admitted(environ):
            return None
        mimetype = environ.get("CONTENT_TYPE", "").partition(";")[0].strip().lower()
        length = environ.get("CONTENT_LENGTH", "")
        if mimetype != "application/json" or not length.isdigit() or int(length) > self.max_body:
            return None
        raw = environ["wsgi.input"].read(int(length))
        environ["wsgi.input"] = io.BytesIO(raw)  # Flask reads it again if it is to answer
        try:
            data = self.json.loads(raw)
            body = TriageIn.model_validate(data) if isinstance(data, dict) else None
        except (ValueError, ValidationError, RecursionError):  # JSONDecodeError and UnicodeDecodeError
            return None  # too; Flask answers each with its 400 problem
        if body is None:
            return None
        self.holder.watch()  # what Flask's before_request would do first
        # As DefaultJSONProvider.response lays it out: indented in debug mode, else compact.
        compact = self.json.compact  # type: ignore[attr-defined]
        indented = (compact is None and self.app.debug) or compact is False
        layout: dict[str, Any] = {"indent": 2} if indented else {"separators": (",", ":")}
        try:
            result = prediction(model, body)
            answer = self.json.dumps(result, **layout)
        except Exception:  # Flask runs it again and answers with its logged 500 problem
            log.debug("fast path failed; Flask answers", exc_info=True)
            return None
        metrics.record_prediction(result)
        return f"{answer}\n".encode()

    def _admitted(self, environ: dict[str, Any]) -> bool:
        """The view's access rule, decided without the database; False means: ask Flask."""
        secret = access.key_of(environ.get("HTTP_AUTHORIZATION"), environ.get("HTTP_X_API_KEY"))
        if secret is None:
            return bool(self.rule.open_setting and getattr(self.settings, self.rule.open_setting))
        key = access.remembered_key(secret)
        return key is not None and key.role in self.rule.roles
