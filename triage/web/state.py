"""Per-app objects (database, model holder, tips) and the per-request session."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from flask import current_app, g
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from triage.service.tips import TipBook
    from triage.service.words import Words
    from triage.settings import Settings
    from triage.storage import Database
    from triage.web.engine import ModelHolder

__all__ = ["database", "db_session", "models", "settings", "stats_session", "tipbook", "words"]


def settings() -> Settings:
    return cast("Settings", current_app.config["TRIAGE"])


def database() -> Database:
    return cast("Database", current_app.extensions["triage.db"])


def models() -> ModelHolder:
    return cast("ModelHolder", current_app.extensions["triage.models"])


def tipbook() -> TipBook:
    return cast("TipBook", current_app.extensions["triage.tips"])


def words() -> Words:
    """What hotspots count in a text, from the data folder (kept by intake)."""
    return cast("Words", current_app.extensions["triage.words"])


def db_session() -> Session:
    """The request's session, opened on first use and closed at teardown."""
    if "db" not in g:
        g.db = database().session()
    return cast(Session, g.db)


def stats_session() -> Session:
    """The request's session for statistics: on the read replica of
    TRIAGE_STATS_DATABASE_URL when one is set, else the request's own session."""
    replica = current_app.extensions.get("triage.stats_db")
    if replica is None:
        return db_session()
    if "stats_db" not in g:
        g.stats_db = cast("Database", replica).session()
    return cast(Session, g.stats_db)


def close_session(_exc: BaseException | None = None) -> None:
    for name in ("db", "stats_db"):
        session = g.pop(name, None)
        if session is not None:
            session.close()
