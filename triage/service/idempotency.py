"""Idempotency keys of ticket intake: a client that did not hear the answer (a timeout, a
dropped connection, a 503 that came after all) sends the same request again with the same
``Idempotency-Key`` and gets the ticket already made instead of a second one.

Keys are kept per caller (an API key, or open intake) in the database, so every worker
and server sees them; one is honoured for ``WINDOW`` and may then be used again."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage.errors import BadInput
from triage.storage.schema import IdempotencyKey, Ticket

__all__ = ["WINDOW", "KeyReused", "claim", "earlier", "fingerprint"]

WINDOW = timedelta(hours=24)


class KeyReused(BadInput):
    """The key was used within the window for a different request."""


def fingerprint(body: dict[str, Any]) -> str:
    """The request as validated, so the same message sent again matches whatever its layout."""
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def earlier(
    session: Session, caller: str, key: str, print_: str, now: datetime | None = None
) -> Ticket | None:
    """The ticket a first request with this key made, if within the window. A key that
    expired is released (deleted with the caller's next commit); one used for another
    request is refused."""
    now = now or datetime.now(UTC)
    same = (IdempotencyKey.caller == caller, IdempotencyKey.key == key)
    row = session.scalar(select(IdempotencyKey).where(*same))
    if row is None:
        return None
    if now - row.created_at > WINDOW:
        session.delete(row)
        session.flush()
        return None
    if row.fingerprint != print_:
        raise KeyReused("This Idempotency-Key was already used for a different request; use a new key.")
    return session.get(Ticket, row.ticket_id)


def claim(caller: str, key: str, print_: str, now: datetime | None = None) -> IdempotencyKey:
    """The row to store in the same transaction as the new ticket (``ticket_id`` set there)."""
    return IdempotencyKey(caller=caller, key=key, fingerprint=print_, created_at=now or datetime.now(UTC))
