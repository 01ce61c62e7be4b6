"""Shared fixtures: settings pointing at temporary folders, a tiny model built once, and the
app (one per test, on SQLite and on PostgreSQL, disposed of afterwards)."""

from __future__ import annotations

import csv
from collections import defaultdict
from contextlib import ExitStack
from pathlib import Path

import pytest
from paths import PROJECT_ROOT
from seeding import pg_schema
from serving import built_app

from triage.engine.training import build_model
from triage.settings import Settings, load_settings

DATA = PROJECT_ROOT / "data"
PER_LABEL = 24


@pytest.fixture(scope="session")
def tiny_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small labelled CSV cut from the project's own data (the first rows of each file)."""
    rows: list[dict[str, str]] = []
    seen: dict[str, int] = defaultdict(int)
    for path in sorted((DATA / "messages").glob("*.csv")):
        with open(path, encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                if seen[row["category"]] < PER_LABEL:
                    seen[row["category"]] += 1
                    rows.append(row)
    assert len(seen) >= 3, "the project's data/messages folder should hold labelled files"
    out = tmp_path_factory.mktemp("data") / "tiny.csv"
    with open(out, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["id", "title", "text", "category", "department", "kind"])
        writer.writeheader()
        writer.writerows({k: r.get(k, "") for k in writer.fieldnames} for r in rows)
    return out


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or writes the project's own models/ or instance/ (database, keys)."""
    monkeypatch.setenv("TRIAGE_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("TRIAGE_INSTANCE_DIR", str(tmp_path / "instance"))
    for name in ("TRIAGE_DATABASE_URL", "TRIAGE_MODEL", "TRIAGE_OPEN_INTAKE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture()
def settings() -> Settings:
    return load_settings()


@pytest.fixture(scope="session")
def tiny_data(tiny_csv: Path):
    from triage.engine.data import read_labelled

    return read_labelled([tiny_csv])


@pytest.fixture(scope="session")
def tiny_model(tiny_data):
    return build_model(load_settings(), cv=3).fit(tiny_data.items, tiny_data.labels)


@pytest.fixture(scope="session")
def tiny_model_dir(tiny_model, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_model.save(tmp_path_factory.mktemp("model") / "tiny")


# -- service fixtures: every storage/API test runs on SQLite and on PostgreSQL ----------


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path):
    """A fresh, empty database: a SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    with pg_schema() as url:
        yield url


@pytest.fixture()
def app_config(database_url: str, tiny_model_dir: Path, tmp_path: Path) -> dict:
    return {
        "database_url": database_url,
        "model": str(tiny_model_dir),
        "instance_dir": str(tmp_path / "instance"),
        "secret_key": "test-secret-key-of-32-characters",
    }


@pytest.fixture()
def make_app():
    """Build apps, all disposed of at teardown: make_app(config); make_app() reads the
    settings from the environment alone."""
    with ExitStack() as stack:
        yield lambda config=None: stack.enter_context(built_app(config))


@pytest.fixture()
def app(make_app, app_config: dict, request: pytest.FixtureRequest):
    """The app on app_config. A test changes settings with a marker:
    ``@pytest.mark.app_settings(open_intake=True)``."""
    marker = request.node.get_closest_marker("app_settings")
    application = make_app({**app_config, **(marker.kwargs if marker else {})})
    application.config["TESTING"] = True
    return application


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture()
def make_key(app):
    """Create a key in the app's database: make_key('reviewer') -> headers dict."""
    from triage.service.keys import create_key

    def make(role: str, department: str | None = None, name: str = "test") -> dict[str, str]:
        with app.app_context():
            session = app.extensions["triage.db"].session()
            try:
                _, secret = create_key(session, role, name, department)
            finally:
                session.close()
        return {"Authorization": f"Bearer {secret}"}

    return make
