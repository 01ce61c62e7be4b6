"""Staff page sessions kept in the database, so that signing out ends them everywhere.

The browser's cookie carries a random token; the row is found by the token's SHA-256 (a copy
of the table gives no usable cookie). A session ends when it is deleted (sign-out), when its
key is revoked, or after ``hours`` without a request."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from triage.service.keys import hash_key
from triage.storage.schema import ApiKey, PageSession

__all__ = ["end", "find", "start"]

# A request writes seen_at only when it is older than this share of the session's hours: a
# page and its chart images arrive together, and on SQLite their concurrent writes wait on
# each other. A session may so end up to an eighth of its hours early, never late.
TOUCH_SHARE = 1 / 8


def start(session: Session, key: ApiKey, now: datetime | None = None) -> str:
    """A new session for ``key``; returns the token for the cookie (shown nowhere else)."""
    now = now or datetime.now(UTC)
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    session.add(PageSession(id=hash_key(token), key_id=key.id, csrf=csrf, created_at=now, seen_at=now))
    session.commit()
    return token


def find(session: Session, token: str, hours: float, now: datetime | None = None) -> PageSession | None:
    """The live session of ``token``: None if it was ended, has expired or its key was revoked
    (an expired or orphaned row is deleted on the way)."""
    now = now or datetime.now(UTC)
    row = session.get(PageSession, hash_key(token))
    if row is None:
        return None
    key = session.get(ApiKey, row.key_id)
    if key is None or key.revoked_at is not None or now - row.seen_at > timedelta(hours=hours):
        session.delete(row)
        session.commit()
        return None
    if now - row.seen_at > timedelta(hours=hours) * TOUCH_SHARE:
        row.seen_at = now
        session.commit()
    return row


def end(session: Session, token: str) -> None:
    session.execute(delete(PageSession).where(PageSession.id == hash_key(token)))
    session.commit()
