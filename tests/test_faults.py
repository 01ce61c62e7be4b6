"""Bounded versions of the fault drills in benchmarks/ (the full ones are scripts): kill -9
mid-burst, a database that goes away and comes back, a full disk and a read-only database."""

from __future__ import annotations

import contextlib
import socket
import threading

import pytest
import sqlalchemy as sa
from seeding import pg_schema

from benchmarks.fault_kill import drill


@pytest.mark.slow  # gunicorn, killed mid-burst
@pytest.mark.parametrize("fault", ["worker", "server"])
def test_kill_9_mid_burst_loses_no_acknowledged_ticket(fault, tiny_model_dir, tmp_path):
    result = drill({"TRIAGE_MODEL": str(tiny_model_dir), "TRIAGE_INSTANCE_DIR": str(tmp_path)}, fault, 60, 4)
    assert result["passed"], result
    assert result["acknowledged"] >= 20 and result["stored"] >= result["acknowledged"]


@pytest.mark.slow  # gunicorn, killed mid-burst
def test_kill_9_of_a_worker_on_postgresql(tiny_model_dir, tmp_path):
    with pg_schema() as url:
        env = {"TRIAGE_MODEL": str(tiny_model_dir), "TRIAGE_INSTANCE_DIR": str(tmp_path)}
        result = drill({**env, "TRIAGE_DATABASE_URL": url}, "worker", 60, 4)
    assert result["passed"], result


class Proxy:
    """A TCP forwarder to PostgreSQL that can be cut (connections dropped, port refused)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.conns: list[socket.socket] = []
        self.listener: socket.socket | None = None

    def up(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def down(self) -> None:
        if self.listener is not None:
            with contextlib.suppress(OSError):
                self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
            self.listener.close()
            self.listener = None
        for conn in self.conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)  # wakes the pipes and tells both ends
            conn.close()
        self.conns.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed: the database is "down"
            server = socket.create_connection(self.target)
            self.conns += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)


def test_postgresql_outage_gives_503_and_the_service_recovers_by_itself(make_app, tiny_model_dir, tmp_path):
    from triage.service.keys import create_key

    proxy = Proxy(("127.0.0.1", 5432))
    proxy.up()
    with pg_schema() as url:
        app = make_app(
            {
                "database_url": url.replace(":5432/", f":{proxy.port}/"),
                "model": str(tiny_model_dir),
                "instance_dir": str(tmp_path),
                "secret_key": "test-secret-key-of-32-characters",
            }
        )
        try:
            session = app.extensions["triage.db"].session()
            _, secret = create_key(session, "intake", "t")
            session.close()
            client, headers = app.test_client(), {"Authorization": f"Bearer {secret}"}
            assert client.post("/v1/tickets", json={"text": "排队太久"}, headers=headers).status_code == 201
            proxy.down()
            for r in (
                client.post("/v1/tickets", json={"text": "数据库断了"}, headers=headers),
                client.get("/readyz"),
            ):
                assert r.status_code == 503 and r.headers["Retry-After"]
                assert r.mimetype == "application/problem+json" and r.get_json()["status"] == 503
            assert client.get("/healthz").status_code == 200
            proxy.up()
            assert client.get("/readyz").status_code == 200  # no restart: stale connections are replaced
            assert client.post("/v1/tickets", json={"text": "恢复了"}, headers=headers).status_code == 201
        finally:
            app.extensions["triage.db"].dispose()  # before its schema is dropped
            proxy.down()


@pytest.fixture()
def sqlite_app(make_app, tiny_model_dir, tmp_path):
    """An app on a SQLite file with one ticket; returns (app_on(url), headers, db path)."""
    from triage.service.keys import create_key

    db = tmp_path / "triage.db"
    conf = {
        "model": str(tiny_model_dir),
        "instance_dir": str(tmp_path),
        "secret_key": "test-secret-key-of-32-characters",
    }

    def app_on(url: str):
        return make_app({**conf, "database_url": url})

    app = app_on(f"sqlite:///{db}")
    session = app.extensions["triage.db"].session()
    _, secret = create_key(session, "intake", "t")
    session.close()
    headers = {"Authorization": f"Bearer {secret}"}
    assert (
        app.test_client().post("/v1/tickets", json={"text": "排队太久"}, headers=headers).status_code == 201
    )
    return app_on, headers, db


def tickets_in(db) -> int:
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        n = conn.execute(sa.text("SELECT count(*) FROM tickets")).scalar()
    engine.dispose()
    return n


def test_a_full_disk_gives_507_and_stores_nothing(sqlite_app):
    app_on, headers, db = sqlite_app
    app = app_on(f"sqlite:///{db}")
    engine = app.extensions["triage.db"].engine

    @sa.event.listens_for(engine, "connect")
    def _no_room(dbapi_connection, _record):  # the file may not grow: SQLite says "full"
        pages = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    engine.dispose()
    r = app.test_client().post("/v1/tickets", json={"text": "磁盘满了" * 3000}, headers=headers)
    assert r.status_code == 507, r.get_json()
    assert r.mimetype == "application/problem+json" and "nothing was saved" in r.get_json()["detail"]
    assert tickets_in(db) == 1


def test_a_read_only_database_gives_503_and_lookups_still_work(sqlite_app):
    app_on, headers, db = sqlite_app
    app = app_on(f"sqlite:///file:{db}?mode=ro&uri=true")
    client = app.test_client()
    r = client.post("/v1/tickets", json={"text": "只读"}, headers=headers)
    assert r.status_code == 503 and "read-only" in r.get_json()["detail"]
    assert client.get("/readyz").status_code == 200
    assert tickets_in(db) == 1
