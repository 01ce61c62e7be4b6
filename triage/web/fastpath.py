"""POST /v1/triage, the hot endpoint, answered without Flask's per-request machinery.

Flask's request context, URL matching, hooks, extensions and response object cost about as
much CPU as the prediction itself (benchmarks/http_bench.py). This WSGI middleware answers
only the plain case: a JSON body that validates, from a caller the view would let in
without asking the database (a key this process checked moments ago, or open intake). It
runs the view's own rule, schema, prediction function, JSON provider and metrics, so the
answer is the one Flask would give (tests/test_fastpath.py compares them byte for byte).
Anything else (no or unknown key, bad JSON, a validation error, a body too large, no
model) goes to Flask untouched, so every error keeps its one shape from problems.py.

The body is read and the answer written with orjson, which gives the bytes Flask's provider
gives here (compact, keys sorted, UTF-8, floats rounded to 4 places) for an eighth of the
instructions (0.03 M an answer against the json module's 0.26 M); what orjson refuses
(NaN, a lone surrogate, a huge integer) goes to Flask, which answers as before.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import orjson
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
            data = orjson.loads(raw)
            body = TriageIn.model_validate(data) if isinstance(data, dict) else None
        except (ValueError, ValidationError, RecursionError):  # orjson.JSONDecodeError is a ValueError;
            return None  # Flask answers each with its 400 problem (or reads what orjson refused)
        if body is None:
            return None
        self.holder.watch()  # what Flask's before_request would do first
        try:
            result = prediction(model, body)
            answer = self._dumps(result)
        except Exception:  # Flask runs it again and answers with its logged 500 problem
            log.debug("fast path failed; Flask answers", exc_info=True)
            return None
        metrics.record_prediction(result)
        return answer

    def _dumps(self, result: dict[str, Any]) -> bytes:
        """``result`` as DefaultJSONProvider.response lays it out: indented in debug mode (by
        the provider itself), else compact, with its trailing newline."""
        compact = self.json.compact  # type: ignore[attr-defined]
        if (compact is None and self.app.debug) or compact is False:
            return f"{self.json.dumps(result, indent=2)}\n".encode()
        if not (
            getattr(self.json, "sort_keys", None) is True
            and getattr(self.json, "ensure_ascii", True) is False
        ):
            # orjson writes what the provider would only for these settings: keys sorted, UTF-8.
            return f"{self.json.dumps(result, separators=(',', ':'))}\n".encode()
        return orjson.dumps(result, option=orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE)

    def _admitted(self, environ: dict[str, Any]) -> bool:
        """The view's access rule, decided without the database; False means: ask Flask."""
        secret = access.key_of(environ.get("HTTP_AUTHORIZATION"), environ.get("HTTP_X_API_KEY"))
        if secret is None:
            return bool(self.rule.open_setting and getattr(self.settings, self.rule.open_setting))
        key = access.remembered_key(secret)
        return key is not None and key.role in self.rule.roles
