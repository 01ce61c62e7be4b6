"""Engine, sessions and migrations."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from triage.settings import Settings

__all__ = ["Database", "alembic_config", "database_url", "migrated_session", "upgrade"]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def database_url(settings: Settings) -> str:
    """TRIAGE_DATABASE_URL, or SQLite in the instance folder."""
    if settings.database_url:
        return str(settings.database_url)
    return f"sqlite:///{Path(settings.instance_dir) / 'triage.db'}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cur = dbapi_connection.cursor()
    # WAL lets readers and one writer work at once; FULL sync means an acknowledged ticket
    # survives even an OS crash; busy_timeout makes concurrent workers wait, not fail.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def make_engine(url: str) -> Engine:
    # hide_parameters: SQL logged at DEBUG and database errors logged with their statement
    # would otherwise carry the texts and contacts being stored.
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[-1].split("?", 1)[0]
        # A plain file path gets its folder; a file: URI (read-only opens) is taken as given.
        if path and path != ":memory:" and not path.startswith("file:"):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 10}, hide_parameters=True
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # connect_timeout: a black-holed database host answers 503 within seconds, not after
    # gunicorn's worker timeout.
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=5,
        pool_timeout=5,
        hide_parameters=True,
        connect_args={"connect_timeout": 5},
    )


class Database:
    """One engine per process and a session factory."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def session(self) -> Session:
        return self.sessions()

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:  # any driver error means "not reachable now"
            return False

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Apply migrations up to ``revision``; existing data is kept."""
    from alembic import command

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                # A migration that changes a column rebuilds the SQLite table (copy, drop,
                # rename); with foreign keys enforced, the drop would cascade and delete every
                # ticket's events, returns and corrections. SQLite's own advice: keys off while
                # altering (a pragma only takes effect outside a transaction).
                conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
                conn.commit()
            with conn.begin():
                cfg = alembic_config(url)
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, revision)
    finally:
        engine.dispose()


def current_revision(url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


@contextmanager
def migrated_session(url: str) -> Iterator[Session]:
    """A session on ``url`` after applying migrations (so a fresh machine works), for
    commands and scripts that live outside a request."""
    upgrade(url)
    db = Database(url)
    session = db.session()
    try:
        yield session
    finally:
        session.close()
        db.dispose()
