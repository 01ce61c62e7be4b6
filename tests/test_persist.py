"""Model folders load without running code from them: arrays and JSON, checked on the bytes read."""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

from triage.engine import persist
from triage.engine.persist import ARTIFACT, CARD, load_model
from triage.errors import ModelRefused
from triage.service.registry import first_loadable


class Planted:
    """A pickle that creates a file when it is loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "pwned"))


def copy_of(folder: Path, tmp_path: Path, name: str = "copy") -> Path:
    dest = tmp_path / name
    shutil.copytree(folder, dest)
    return dest


def edit_card(folder: Path, change) -> None:
    card = json.loads((folder / CARD).read_text())
    change(card)
    (folder / CARD).write_text(json.dumps(card))


def test_a_planted_pickle_with_its_hash_in_the_card_runs_nothing(tiny_model_dir, tmp_path):
    marker = tmp_path / "pwned"
    payload = pickle.dumps(Planted(marker))
    pickle.loads(payload)  # the payload does work when unpickled...
    assert marker.exists()
    marker.unlink()
    digest = hashlib.sha256(payload).hexdigest()
    # ...as an old-style model.joblib, as the artifact under the new name, and inside an npz.
    old = copy_of(tiny_model_dir, tmp_path, "old")
    (old / "model.joblib").write_bytes(payload)
    edit_card(old, lambda c: c.update(schema=1, artifact={"file": "model.joblib", "sha256": digest}))
    renamed = copy_of(tiny_model_dir, tmp_path, "renamed")
    (renamed / ARTIFACT).write_bytes(payload)
    edit_card(renamed, lambda c: c["artifact"].update(sha256=digest))
    inside = copy_of(tiny_model_dir, tmp_path, "inside")
    buffer = io.BytesIO()
    np.savez(buffer, spec=np.array([Planted(marker)], dtype=object))
    (inside / ARTIFACT).write_bytes(buffer.getvalue())
    edit_card(inside, lambda c: c["artifact"].update(sha256=hashlib.sha256(buffer.getvalue()).hexdigest()))
    with pytest.raises(ModelRefused, match=r"pickle \(model\.joblib\).*retrain it with `triage train`"):
        load_model(old)
    for folder in (renamed, inside):
        with pytest.raises(ModelRefused, match="cannot be loaded"):
            load_model(folder)
    assert not marker.exists()


def test_a_tampered_artifact_is_refused(tiny_model_dir, tmp_path):
    copy = copy_of(tiny_model_dir, tmp_path)
    with open(copy / ARTIFACT, "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ModelRefused, match="does not match its card"):
        load_model(copy)


def test_the_hash_is_checked_on_the_bytes_that_are_parsed(tiny_model_dir, monkeypatch):
    """One read of the artifact: swapping the file between a check and a load is impossible."""
    reads: list[Path] = []
    real = Path.read_bytes

    def counted(self: Path) -> bytes:
        reads.append(self)
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", counted)
    monkeypatch.setattr(
        persist, "sha256_of", lambda _p: pytest.fail("the artifact was hashed from a second read")
    )
    load_model(tiny_model_dir)
    assert [p.name for p in reads] == [ARTIFACT]


@pytest.mark.parametrize(
    "change",
    [
        lambda c: c.pop("artifact"),
        lambda c: c.update(artifact="model.npz"),
        lambda c: c.update(artifact=["model.npz"]),
        lambda c: c["artifact"].pop("sha256"),
        lambda c: c["artifact"].update(file="../../etc/passwd"),
        lambda c: c["artifact"].update(file=None),
        lambda c: c["artifact"].update(format=99),
        lambda c: c.update(schema=3),
        lambda c: c.update(version="another"),
    ],
    ids=["no artifact", "string", "list", "no hash", "climbing", "null file", "format", "schema", "version"],
)
def test_a_malformed_card_is_a_refusal(tiny_model_dir, tmp_path, change):
    copy = copy_of(tiny_model_dir, tmp_path)
    edit_card(copy, change)
    with pytest.raises(ModelRefused):
        load_model(copy)


def test_a_card_that_is_not_json_or_absent_is_a_refusal(tiny_model_dir, tmp_path):
    with pytest.raises(ModelRefused, match="not a model folder"):
        load_model(tmp_path)
    copy = copy_of(tiny_model_dir, tmp_path)
    (copy / CARD).write_text("[1, 2")
    with pytest.raises(ModelRefused, match="cannot be read"):
        load_model(copy)


def test_the_registry_falls_back_past_a_bad_card(tiny_model_dir, tmp_path):
    bad = copy_of(tiny_model_dir, tmp_path, "bad")
    edit_card(bad, lambda c: c.pop("artifact"))
    model, folder, refused = first_loadable([bad, tiny_model_dir], load_model)
    assert folder == tiny_model_dir and model is not None
    assert set(refused) == {"bad"} and "names no artifact" in str(refused["bad"])


def test_a_worker_serves_the_earlier_version_when_the_active_card_is_bad(
    tiny_model_dir, tmp_path, monkeypatch
):
    from triage.service.registry import record
    from triage.web import create_app

    monkeypatch.setenv("TRIAGE_OPEN_INTAKE", "true")
    models = Path(tmp_path / "models")
    models.mkdir(exist_ok=True)
    good = copy_of(tiny_model_dir, models, "20260101-000000-aaaa")
    app = create_app()
    assert app.extensions["triage.models"].folder == good
    bad = copy_of(tiny_model_dir, models, "20260102-000000-bbbb")
    edit_card(bad, lambda c: c.pop("artifact"))
    with app.extensions["triage.db"].session() as session:
        record(session, good.name, "initial", "serve")
        record(session, bad.name, "promote", "someone")
    app.extensions["triage.db"].dispose()
    restarted = create_app()
    holder = restarted.extensions["triage.models"]
    assert holder.folder == good and bad.name in holder.refused
    r = restarted.test_client().post("/v1/triage", json={"text": "营业执照怎么办理"})
    assert r.status_code == 200
    restarted.extensions["triage.db"].dispose()
