"""Rate limits (flask-limiter): per client address, counters in memory or Redis."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

__all__ = ["install", "limiter", "lookup_limit"]

limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)


def _lookup_rate() -> str:
    from triage.web.state import settings

    return settings().lookup_rate_limit


def lookup_limit(func: Callable[..., Any]) -> Callable[..., Any]:
    return limiter.limit(_lookup_rate)(func)


def install(app: Flask, storage_uri: str) -> None:
    app.config["RATELIMIT_STORAGE_URI"] = storage_uri
    app.config["RATELIMIT_HEADERS_ENABLED"] = True
    limiter.init_app(app)
