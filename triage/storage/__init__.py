"""Storage: the one module that talks to the database (SQLite by default, PostgreSQL when
TRIAGE_DATABASE_URL says so). Callers get plain functions; SQL is built by SQLAlchemy."""

# Registers the flush hook that keeps the daily rollups current (triage.storage.rollups):
# anything that writes tickets imports this package first.
from triage.storage import rollups
from triage.storage.db import Database, upgrade
from triage.storage.schema import ApiKey, Base, Correction, ModelEvent, Return, Ticket, TicketEvent

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
