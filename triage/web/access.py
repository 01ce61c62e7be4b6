"""Who may call what. Every view declares its access; a view that declares nothing is
admin-only, so forgetting the declaration fails closed."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Flask, current_app, g, request
from sqlalchemy import event

from triage.service.keys import find_key, hash_key
from triage.storage.schema import ApiKey
from triage.web.problems import ApiError
from triage.web.state import db_session

__all__ = ["PUBLIC_ENDPOINTS", "access", "install", "public"]

F = TypeVar("F", bound=Callable[..., Any])
# Framework routes with nothing behind them but static files and the API description.
PUBLIC_ENDPOINTS = {"static", "openapi_json"}
PUBLIC_PREFIXES = ("openapi.", "swagger.")
# A key found in the database is remembered this long, so most requests need no query (it
# was a quarter of a /v1/triage request's time). Revoking in this process forgets at once;
# a key revoked by another process (`triage keys revoke`) is refused within this time.
KEY_CACHE_SECONDS = 10.0
KEY_CACHE_SIZE = 1000
ACTOR_CHARS = 100  # the actor columns of events, corrections and returns are String(100)


@dataclass(frozen=True)
class Access:
    roles: frozenset[str]
    open_setting: str | None = None  # a yes/no setting that opens the view to everyone


def access(*roles: str, open_setting: str | None = None) -> Callable[[F], F]:
    """Allow these roles (admin is always allowed)."""

    def mark(func: F) -> F:
        func._access = Access(frozenset(roles) | {"admin"}, open_setting)  # type: ignore[attr-defined]
        return func

    return mark


def public(func: F) -> F:
    func._access = None  # type: ignore[attr-defined]
    return func


def presented_key() -> str | None:
    return key_of(request.headers.get("Authorization"), request.headers.get("X-API-Key"))


def key_of(authorization: str | None, api_key_header: str | None) -> str | None:
    """The secret a client sent: `Authorization: Bearer <key>`, else `X-API-Key`."""
    auth = authorization or ""
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    return api_key_header or None


def check_request() -> None:
    g.key = None
    endpoint = request.endpoint
    if endpoint is None or endpoint in PUBLIC_ENDPOINTS or endpoint.startswith(PUBLIC_PREFIXES):
        return
    view = current_app.view_functions.get(endpoint)
    rule = getattr(view, "_access", Access(frozenset({"admin"})))
    secret = presented_key()
    if secret:
        key = _known_key(secret)
        if key is None:
            raise ApiError(
                401,
                "The API key is not valid (unknown or revoked).",
                headers={"WWW-Authenticate": "Bearer"},
            )
        g.key = key
    if rule is None:
        return
    if rule.open_setting and getattr(current_app.config["TRIAGE"], rule.open_setting):
        return
    if g.key is None:
        raise ApiError(
            401,
            "This endpoint needs an API key (Authorization: Bearer <key>).",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if g.key.role not in rule.roles:
        allowed = ", ".join(sorted(rule.roles))
        raise ApiError(403, f"A {g.key.role} key cannot do this; it needs one of: {allowed}.")


@dataclass(frozen=True)
class KeyInfo:
    """What a request needs of its key (a plain value, safe to share between threads)."""

    id: int
    name: str
    role: str
    department: str | None
    prefix: str


_cache: dict[str, tuple[float, int, KeyInfo]] = {}  # key hash -> (expiry, generation, key)
_cache_lock = threading.Lock()
_generation = 0  # bumped whenever a key is revoked in this process


def _forget_keys(*_args: Any) -> None:
    global _generation
    with _cache_lock:
        _generation += 1
        _cache.clear()


def remembered_key(secret: str) -> KeyInfo | None:
    """The key if this process checked it against the database within KEY_CACHE_SECONDS and
    has revoked nothing since; None means: ask the database."""
    hit = _cache.get(hash_key(secret))
    if hit is not None and hit[0] > time.monotonic() and hit[1] == _generation:
        return hit[2]
    return None


def _known_key(secret: str) -> KeyInfo | None:
    remembered = remembered_key(secret)
    if remembered is not None:
        return remembered
    digest, now, generation = hash_key(secret), time.monotonic(), _generation
    row = find_key(db_session(), secret)
    if row is None:
        return None  # unknown keys are not remembered: a key created a moment ago works
    info = KeyInfo(row.id, row.name, row.role, row.department, row.prefix)
    with _cache_lock:
        if len(_cache) >= KEY_CACHE_SIZE:
            _cache.clear()
        if generation == _generation:
            _cache[digest] = (now + KEY_CACHE_SECONDS, generation, info)
    return info


def install(app: Flask) -> None:
    if not event.contains(ApiKey.revoked_at, "set", _forget_keys):
        event.listen(ApiKey.revoked_at, "set", _forget_keys)
    app.before_request(check_request)


def actor() -> str:
    """Who is acting, for the record: the key's name and prefix, never the secret."""
    key = g.get("key")
    if key is None:
        return "anonymous"
    suffix = f" ({key.prefix})"
    name: str = key.name
    return name[: ACTOR_CHARS - len(suffix)] + suffix  # a long name is cut, the prefix kept
