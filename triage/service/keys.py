"""API keys: random secrets shown once; only their SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage.errors import BadInput
from triage.storage.schema import ApiKey

__all__ = ["MAX_NAME", "ROLES", "create_key", "find_key", "hash_key", "list_keys", "revoke_key"]

ROLES = ("intake", "reviewer", "department", "admin")
MAX_NAME = 100  # ApiKey.name is String(100)


def hash_key(key: str) -> str:
    # Keys are 190-bit random strings, so a fast hash is enough: nothing to brute-force.
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(session: Session, role: str, name: str, department: str | None = None) -> tuple[ApiKey, str]:
    """Store a new key and return it with the secret (the only time it is visible)."""
    if role not in ROLES:
        raise BadInput(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.")
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise BadInput(
            f"A key's name must not be blank and may have at most {MAX_NAME} characters ({len(name)} given)."
        )
    if role == "department" and not department:
        raise BadInput("A department key needs --department.")
    if role != "department" and department:
        raise BadInput("Only department keys belong to a department.")
    prefix = secrets.token_hex(4)
    secret = f"tk_{prefix}_{secrets.token_urlsafe(24)}"
    row = ApiKey(name=name, role=role, department=department, prefix=prefix, key_hash=hash_key(secret))
    session.add(row)
    session.commit()
    return row, secret


def find_key(session: Session, secret: str) -> ApiKey | None:
    row = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(secret)))
    if row is None or row.revoked_at is not None:
        return None
    return row


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))


def revoke_key(session: Session, prefix: str) -> ApiKey:
    row = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if row is None:
        raise BadInput(f"No key with prefix {prefix!r}.")
    if row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
        session.commit()
    return row
