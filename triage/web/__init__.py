"""The HTTP service: ``create_app(config=None)`` builds a Flask (flask-openapi3) app."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import request
from flask_openapi3 import Info, OpenAPI
from werkzeug.middleware.proxy_fix import ProxyFix

from triage.service.secret_key import secret_key
from triage.settings import load_settings
from triage.storage import Database
from triage.storage.db import database_url, upgrade
from triage.web import access, apidoc, limits, metrics, problems
from triage.web.engine import ModelHolder
from triage.web.state import close_session

__all__ = ["create_app"]

log = logging.getLogger(__name__)
JSON_BODY_METHODS = {"POST", "PUT", "PATCH"}


def _require_json_object() -> None:
    """Invalid JSON or a non-object body is a 400 naming the problem, before validation."""
    if request.method not in JSON_BODY_METHODS or not request.url_rule:
        return
    if not request.path.startswith("/v1/"):
        return
    if not request.is_json:
        raise problems.ApiError(415, "Send the body as JSON (Content-Type: application/json).")
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # json.loads on thousands of nested brackets
        raise problems.ApiError(400, "The body is nested too deeply to be read.") from None
    if data is None:
        raise problems.ApiError(400, "The body is not valid JSON.")
    if not isinstance(data, dict):
        raise problems.ApiError(400, "The body must be a JSON object.")


def _refuse_repeated_query() -> None:
    """No query parameter of the API takes several values: one given twice is a 400 naming
    it, not a silent pick of one of them."""
    if not request.path.startswith("/v1/"):
        return
    repeated = sorted({name for name in request.args if len(request.args.getlist(name)) > 1})
    if repeated:
        raise problems.ApiError(
            400,
            f"{repeated[0]} is given more than once; give it once.",
            errors=[{"field": name, "message": "given more than once"} for name in repeated],
        )


def create_app(config: dict[str, Any] | None = None) -> OpenAPI:
    """Build the app. ``config`` overrides settings (tests); the rest come from TRIAGE_*."""
    conf = load_settings(config)
    app = OpenAPI(
        __name__,
        info=Info(title="Complaint triage service", version="1"),
        security_schemes={"bearer": {"type": "http", "scheme": "bearer"}},
        validation_error_status=400,
        validation_error_callback=problems.validation_problem,
        doc_prefix="/docs",
    )
    app.config.update(
        TRIAGE=conf,
        MAX_CONTENT_LENGTH=conf.max_body_bytes,
        SECRET_KEY=secret_key(conf),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=conf.secure_cookies,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=conf.session_hours),
        JSON_AS_ASCII=False,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    if conf.trust_proxy:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1)  # type: ignore[method-assign]

    url = database_url(conf)
    upgrade(url)  # a no-op at head; `triage serve` runs it once before forking workers
    db = Database(url)
    app.extensions["triage.db"] = db
    if conf.stats_database_url:  # a read replica: statistics read there, nothing is written
        app.extensions["triage.stats_db"] = Database(conf.stats_database_url)
    holder = ModelHolder(conf, db.session)
    holder.load_initial()
    app.extensions["triage.models"] = holder
    app.before_request(holder.watch)
    from triage.service.tips import TipBook

    app.extensions["triage.tips"] = TipBook.load(Path(conf.data_dir) / "tips")
    from triage.service.words import Words

    app.extensions["triage.words"] = Words.load(Path(conf.data_dir))

    problems.install(app)
    metrics.install(app)
    access.install(app)
    app.before_request(_require_json_object)
    app.before_request(_refuse_repeated_query)
    limits.install(app, conf.ratelimit_storage)
    app.teardown_appcontext(close_session)

    from triage.web.pages import bp as pages_bp
    from triage.web.routes_review import bp as review_bp
    from triage.web.routes_stats import bp as stats_bp
    from triage.web.routes_system import bp as system_bp
    from triage.web.routes_tickets import bp as tickets_bp
    from triage.web.routes_triage import bp as triage_bp

    app.register_api(triage_bp)
    app.register_api(tickets_bp)
    app.register_api(review_bp)
    app.register_api(stats_bp)
    app.register_api(system_bp)
    app.register_blueprint(pages_bp)  # staff HTML pages, signed in by session
    # The spec at the conventional address; the docs page is /docs/.
    apidoc.document(app.api_doc)
    app.add_url_rule("/openapi.json", "openapi_json", lambda: app.api_doc)
    from triage.web.fastpath import TriageFastPath
    from triage.web.requestid import RequestIdLayer

    fast = TriageFastPath(app, app.wsgi_app)
    app.extensions["triage.fastpath"] = fast
    app.wsgi_app = RequestIdLayer(fast)  # type: ignore[method-assign]  # outermost: every answer
    return app
