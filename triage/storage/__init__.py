"""Storage: the one module that talks to the database (SQLite by default, PostgreSQL when
TRIAGE_DATABASE_URL says so). Callers get plain functions; SQL is built by SQLAlchemy."""

from triage.storage.db import Database, upgrade
from triage.storage.schema import ApiKey, Base, Correction, ModelEvent, Return, Ticket, TicketEvent

# Registers the flush hook that keeps the daily rollups current (triage.storage.rollups):
# anything that writes tickets imports this package first.
from triage.storage import rollups  # noqa: E402,I001

__all__ = [
    "ApiKey",
    "Base",
    "Correction",
    "Database",
    "ModelEvent",
    "Return",
    "Ticket",
    "TicketEvent",
    "rollups",
    "upgrade",
]
