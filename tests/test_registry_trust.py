"""The registry names versions, never places: a planted `model_events` row or a command-line
argument that is a path (absolute, climbing out with `..`, or a symlink leading elsewhere) is
never loaded, and serving falls back to the last proper version."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from triage.cli import main
from triage.errors import ModelRefused
from triage.service.registry import record, serving_order
from triage.settings import load_settings
from triage.storage.db import migrated_session

GOOD = "20261101-000000-0a0a"


@pytest.fixture()
def project(tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """A models folder with one good version, and a loadable copy planted outside it."""
    models = tmp_path / "models"
    models.mkdir()
    shutil.copytree(tiny_model_dir, models / GOOD)
    outside = tmp_path / "planted"
    shutil.copytree(tiny_model_dir, outside)  # loads fine: only its place makes it wrong
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    monkeypatch.setenv("TRIAGE_DATABASE_URL", url)
    monkeypatch.setenv("TRIAGE_MODELS_DIR", str(models))
    with migrated_session(url) as session:
        record(session, GOOD, "initial", "test")
    return {"models": models, "outside": outside, "url": url}


def _app(project: dict):
    from triage.web import create_app

    app = create_app({"database_url": project["url"], "model": "", "secret_key": "x" * 32})
    return app


@pytest.mark.parametrize("planted", ["../planted", "ABSOLUTE", "20261102-000000-link"])
def test_a_planted_registry_row_is_never_loaded_and_serving_falls_back(project, planted):
    models, outside = project["models"], project["outside"]
    if planted == "ABSOLUTE":
        planted = str(outside)
    if planted.endswith("link"):
        (models / planted).symlink_to(outside, target_is_directory=True)
    with migrated_session(project["url"]) as session:
        record(session, planted, "promote", "intruder")
        folders = serving_order(load_settings({"model": "", "models_dir": str(models)}), session)
    assert all(f.resolve().parent == models.resolve() for f in folders), folders
    app = _app(project)
    try:
        holder = app.extensions["triage.models"]
        assert holder.folder == models / GOOD
        holder.refused.discard(planted)
        assert holder.refresh() is False  # the follower refuses it too
        assert holder.folder == models / GOOD
        assert planted in holder.refused
    finally:
        app.extensions["triage.db"].dispose()


@pytest.mark.parametrize("name", ["../x", "/tmp/x", "..", "20261101-000000-0a0a/../../x", "", "a" * 300])
def test_version_names_that_are_paths_are_refused(tmp_path, name):
    from triage.service.registry import version_dir

    with pytest.raises(ModelRefused):
        version_dir(tmp_path, name)
    assert version_dir(tmp_path, GOOD) == tmp_path / GOOD


def test_cli_promote_and_show_refuse_a_path(project, capsys):
    outside = str(project["outside"])
    assert main(["models", "promote", outside]) == ModelRefused.exit_code
    assert main(["models", "promote", "../planted"]) == ModelRefused.exit_code
    assert main(["models", "show", "../planted"]) == ModelRefused.exit_code
    err = capsys.readouterr().err
    assert "is not a model version name" in err and "Traceback" not in err
    with migrated_session(project["url"]) as session:
        from triage.service.registry import active_version

        assert active_version(session) == GOOD
