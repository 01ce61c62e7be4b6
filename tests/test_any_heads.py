"""A centre's model has its own heads: department and category without kind, department
only, category only. Each runs the whole service on both databases: intake, the public
lookup, the review queue, a correction, a send-back (or its refusal), the pages, stats,
hotspots, and retraining through the gate. What needs a missing head says so."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import pytest
from paths import PROJECT_ROOT

from triage.cli import main
from triage.engine.data import read_labelled
from triage.engine.heads import TAXONOMY_FILE
from triage.engine.training import build_model
from triage.errors import ExitCode
from triage.settings import load_settings

PER_CATEGORY = 16
TEXT = "食品经营许可证现场核查约了两周还没人来，窗口电话也打不通"
SECRET = "test-secret-key-of-32-characters"
SHAPES = {
    "department_and_category": ("category", "department"),
    "department_only": ("department",),
    "category_only": ("category",),
}


@pytest.fixture(scope="module")
def small_data(tmp_path_factory) -> Path:
    """The project's data folder with a few messages per category (fast training)."""
    data = tmp_path_factory.mktemp("centre") / "data"
    (data / "messages").mkdir(parents=True)
    for name in ("taxonomy.json", "userdict.txt", "stopwords.txt"):
        shutil.copy(PROJECT_ROOT / "data" / name, data / name)
    shutil.copytree(PROJECT_ROOT / "data" / "tips", data / "tips")
    for path in sorted((PROJECT_ROOT / "data" / "messages").glob("*.csv")):
        with open(path, encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))[:PER_CATEGORY]
        with open(data / "messages" / path.name, "w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    return data


@pytest.fixture(scope="module")
def trained(small_data, tmp_path_factory) -> dict[str, Path]:
    """One model folder per shape, trained on a CSV derived from the data: only those heads'
    columns (kind is in none of them)."""
    folders = {}
    settings = load_settings({"data_dir": str(small_data)})
    rows = []
    for path in sorted((small_data / "messages").glob("*.csv")):
        with open(path, encoding="utf-8") as fh:
            rows += list(csv.DictReader(fh))
    for shape, heads in SHAPES.items():
        derived = tmp_path_factory.mktemp(shape) / "export.csv"
        with open(derived, "w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=["id", "text", *heads], extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
        data = read_labelled([derived])
        assert list(data.labels) == list(heads)
        model = build_model(settings, cv=3).fit(data.items, data.labels)
        folders[shape] = model.save(tmp_path_factory.mktemp("models") / model.version_)
    # The centre names its own department and gives its own fallback and a time limit.
    taxonomy = {
        "fallback": {"department": "service_center"},
        "heads": {
            "department": {"name": "办理单位", "labels": {"market_regulation": {"name": "市场监管所"}}},
            "category": {"labels": {"food_license": {"name": "食品许可", "time_limit_days": 2}}},
        },
    }
    folder = folders["department_and_category"]
    (folder / TAXONOMY_FILE).write_text(json.dumps(taxonomy, ensure_ascii=False), encoding="utf-8")
    return folders


@pytest.fixture()
def centre(request, trained, small_data, tmp_path, database_url, monkeypatch):
    """(shape, its heads, the version trained) with the settings wired by environment."""
    shape = request.param
    models = tmp_path / "models"
    shutil.copytree(trained[shape], models / trained[shape].name)
    env = {
        "TRIAGE_DATA_DIR": str(small_data),
        "TRIAGE_MODELS_DIR": str(models),
        "TRIAGE_INSTANCE_DIR": str(tmp_path / "instance"),
        "TRIAGE_DATABASE_URL": database_url,
        "TRIAGE_OPEN_INTAKE": "true",
        "TRIAGE_REVIEW_RANDOM_SHARE": "1.0",  # every ticket reaches the queue
        "TRIAGE_SECRET_KEY": SECRET,
        "TRIAGE_MODEL": "",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return shape, SHAPES[shape], trained[shape].name


def key(app, role, department=None):
    from triage.service.keys import create_key

    session = app.extensions["triage.db"].session()
    try:
        return {"Authorization": f"Bearer {create_key(session, role, role, department)[1]}"}
    finally:
        session.close()


def sign_in(client, headers):
    form = client.get("/sign-in").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    secret = headers["Authorization"].split(" ", 1)[1]
    assert client.post("/sign-in", data={"key": secret, "csrf_token": token}).status_code == 302


@pytest.mark.parametrize("centre", list(SHAPES), indirect=True)
def test_the_whole_service_runs_on_a_model_with_its_own_heads(centre, make_app, capsys):
    shape, heads, version = centre
    app = make_app()
    client = app.test_client()
    reviewer = key(app, "reviewer")

    # Intake and the same routing from /v1/triage: exactly the model's heads.
    r = client.post("/v1/tickets", json={"text": TEXT, "title": "食品经营许可"})
    assert r.status_code == 201, r.get_data(as_text=True)
    created = r.get_json()
    routing = created["routing"]
    assert set(routing) == {*heads, "needs_review", "model_version"}
    assert client.post("/v1/triage", json={"text": TEXT}).get_json().keys() == routing.keys()
    if "category" not in heads:  # tips ranked by the text alone: only those sharing words with it
        assert created["tips"] and all(tip["score"] > 0 for tip in created["tips"])
    code = created["code"]

    # The public lookup names the department, or none.
    public = client.get(f"/v1/tickets/{code}").get_json()
    assert public["code"] == code
    if "department" in heads:
        assert public["department"]["id"] == routing["department"]["label"]
    else:
        assert public["department"]["id"] is None

    # The queue filters by the model's heads only.
    for head in heads:
        r = client.get(f"/v1/review/queue?head={head}", headers=reviewer)
        assert r.status_code == 200 and code in [i["code"] for i in r.get_json()["items"]]
    r = client.get("/v1/review/queue?head=kind", headers=reviewer)
    assert r.status_code == 400 and "kind" in r.get_json()["detail"]
    listed = client.get("/v1/tickets", headers=reviewer).get_json()["items"][0]
    assert set(listed["labels"]) == set(heads) and "kind" not in listed

    # A correction of the heads it has; a head it has not is a 400 naming it.
    head = heads[0]
    known = client.get("/v1/model", headers=reviewer).get_json()["heads"][head]["labels"]
    other = next(label for label in known if label != routing[head]["label"])
    r = client.post(f"/v1/tickets/{code}/corrections", json={"kind": "complaint"}, headers=reviewer)
    assert r.status_code == 400 and "kind" in r.get_json()["detail"]
    r = client.post(f"/v1/tickets/{code}/corrections", json={head: other}, headers=reviewer)
    assert r.status_code == 201, r.get_data(as_text=True)
    verdict = r.get_json()
    # A head left out keeps its routing: where that was the fallback office, not the
    # model's own guess, the verdict changes it too.
    changed = [h for h in heads if h == head or routing[h].get("fallback")]
    assert verdict["correction"]["changed"] == changed and set(verdict["routing"]) == set(heads)
    assert verdict["routing"][head] == other

    # A send-back where the model routes to departments; a clear refusal where it cannot.
    full = client.get(f"/v1/tickets/{code}/full", headers=reviewer).get_json()
    if "department" in heads:
        holder = key(app, "department", full["department"])
        r = client.post(f"/v1/tickets/{code}/return", json={"reason": "不属于本部门"}, headers=holder)
        assert r.status_code == 201, r.get_data(as_text=True)
        assert r.get_json()["routed_to"] != full["department"]
    else:
        holder = key(app, "department", "somewhere")
        r = client.post(f"/v1/tickets/{code}/return", json={"reason": "不属于本部门"}, headers=holder)
        assert r.status_code == 409 and "no department head" in r.get_json()["detail"]
        assert main(["keys", "create", "--role", "department", "--department", "x"]) == ExitCode.BAD_INPUT
        err = capsys.readouterr().err.strip()
        assert "no department head" in err and len(err.splitlines()) == 1

    # Stats break down by the model's heads; hotspots answer.
    summary = client.get("/v1/stats/summary", headers=reviewer).get_json()
    assert set(summary["counts"]) == {*heads, "channel", "status"}
    assert set(summary["live_accuracy"]) == set(heads)
    assert summary["live_accuracy"][head]["n"] == 1
    assert client.get("/v1/stats/hotspots", headers=reviewer).status_code == 200

    # The reviewer's pages show the model's heads, and no other.
    pages = app.test_client()
    sign_in(pages, reviewer)
    ticket_page = pages.get(f"/review/tickets/{code}").get_data(as_text=True)
    assert all(f'name="{h}"' in ticket_page for h in heads) and 'name="kind"' not in ticket_page
    assert pages.get("/review").status_code == 200
    assert pages.get("/dashboard").status_code == 200

    # Retraining keeps the heads and goes through the gate.
    from triage.service.retrain import gate, retrain

    conf = load_settings()
    session = app.extensions["triage.db"].session()
    try:
        model, folder = retrain(conf, session, lambda _: None)
        assert model.heads == list(heads)
        result = gate(conf, session, model.serving_)
    finally:
        session.close()
    assert set(result.heads) == set(heads) and result.compared_with == version
    # The centre's own taxonomy travels with the new version.
    assert (folder / TAXONOMY_FILE).is_file() == (shape == "department_and_category")
    assert result.passed or result.reasons


@pytest.mark.parametrize("centre", ["department_and_category"], indirect=True)
def test_names_time_limits_and_fallback_come_from_the_models_taxonomy(centre, make_app):
    app = make_app()
    client = app.test_client()
    heads = app.extensions["triage.models"].heads()
    assert heads.name("department", "market_regulation") == "市场监管所"  # the model's file
    assert heads.name("department", "tax_bureau") == "区税务局"  # the project's, for the rest
    assert heads.head_name("department") == "办理单位"
    assert heads.fallback_department == "service_center"
    assert heads.time_limit("food_license", 99) == 2
    r = client.post("/v1/triage", json={"text": TEXT})
    named = [r.get_json()["department"], *r.get_json()["department"]["alternatives"]]
    assert {e["name"] for e in named if e["label"] == "market_regulation"} <= {"市场监管所"}


@pytest.mark.parametrize("centre", ["department_and_category"], indirect=True)
def test_a_fallback_department_the_model_lacks_stops_serve_and_keys_at_once(centre, monkeypatch, capsys):
    monkeypatch.setenv("TRIAGE_FALLBACK_DEPARTMENT", "general_office_of_elsewhere")
    assert main(["serve", "--port", "8999"]) == ExitCode.BAD_INPUT
    err = capsys.readouterr().err.strip().splitlines()
    assert "general_office_of_elsewhere" in err[-1] and "not a department of the model" in err[-1]
    monkeypatch.delenv("TRIAGE_FALLBACK_DEPARTMENT")
    assert main(["keys", "create", "--role", "department", "--department", "nowhere"]) == ExitCode.BAD_INPUT
    assert "the active model's departments are" in capsys.readouterr().err
    assert main(["keys", "create", "--role", "department", "--department", "tax_bureau"]) == 0
