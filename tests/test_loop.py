"""The whole loop, end to end: submit -> queue -> correction -> retrain -> gate -> promote ->
the service predicts the corrected label -> rollback restores the old prediction."""

import csv
import shutil
from pathlib import Path

import pytest
from paths import PROJECT_ROOT

from triage.cli import main
from triage.errors import ExitCode
from triage.settings import load_settings

VAGUE = ["有个事情想咨询一下，谢谢", "你好，请问这个怎么弄", "上次说的那个还没好", "麻烦帮忙看看我的情况"]
PER_CATEGORY = 20


@pytest.fixture()
def project(tmp_path, database_url, monkeypatch):
    """A small copy of the project's data and empty model/instance folders, wired by env."""
    data = tmp_path / "data"
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
    env = {
        "TRIAGE_DATA_DIR": str(data),
        "TRIAGE_MODELS_DIR": str(tmp_path / "models"),
        "TRIAGE_INSTANCE_DIR": str(tmp_path / "instance"),
        "TRIAGE_DATABASE_URL": database_url,
        "TRIAGE_OPEN_INTAKE": "true",
        "TRIAGE_MODEL": "",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return tmp_path


def key(app, role):
    from triage.service.keys import create_key

    session = app.extensions["triage.db"].session()
    try:
        return {"Authorization": f"Bearer {create_key(session, role, role)[1]}"}
    finally:
        session.close()


def active(app):
    from triage.service.registry import active_version

    session = app.extensions["triage.db"].session()
    try:
        return active_version(session)
    finally:
        session.close()


def train_worse(project: Path) -> Path:
    """A model trained on 18 one-word messages: clearly worse than the project's."""
    worse = project / "worse.csv"
    with open(worse, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "text", "category", "department", "kind"])
        for i, short in enumerate(["营业执照", "排队", "社保", "发票", "注销", "预约"] * 3):
            dept = "general_office" if i % 2 else "tax_bureau"
            writer.writerow(
                [f"w{i}", short, "other" if i % 2 else "tax", dept, ("complaint", "suggestion")[i % 2]]
            )
    worse_dir = project / "models" / "00000000-000000-worse"
    assert main(["train", "--data", str(worse), "--out", str(worse_dir)]) == 0
    return worse_dir


@pytest.mark.slow  # trains and retrains models
def test_the_review_loop_end_to_end(project, make_app, capsys):
    assert main(["train"]) == 0
    app = make_app()
    holder = app.extensions["triage.models"]
    client = app.test_client()
    reviewer = key(app, "reviewer")

    # 1. Vague messages: the small model is unsure of some, which wait in the review queue.
    tickets = [client.post("/v1/tickets", json={"text": t}).get_json() for t in VAGUE]
    queue = {i["code"]: i for i in client.get("/v1/review/queue", headers=reviewer).get_json()["items"]}
    unsure = [t for t in tickets if t["routing"]["needs_review"]]
    assert unsure and all(queue[t["code"]]["review_reason"] == "uncertain" for t in unsure)
    ticket = unsure[0]
    text = VAGUE[tickets.index(ticket)]
    before = ticket["routing"]["category"]
    old_label = before.get("suggested", before["label"])

    # 2. A reviewer corrects it to a label the model did not pick.
    target = "other" if old_label != "other" else "tax"
    r = client.post(
        f"/v1/tickets/{ticket['code']}/corrections",
        json={"category": target, "department": "general_office" if target == "other" else "tax_bureau"},
        headers=reviewer,
    )
    assert r.status_code == 201

    # 3. Retrain: the candidate learns the correction and passes the gate, so it is promoted.
    first = active(app)
    capsys.readouterr()
    assert main(["retrain"]) == 0
    out = capsys.readouterr()
    assert "gate PASSED" in out.err
    candidate = out.out.strip().splitlines()[-1]
    assert active(app) == candidate != first
    from triage.engine.persist import read_card

    assert read_card(project / "models" / candidate)["corrections_learned"] == 1

    # 4. Every worker follows the registry: the service now predicts the corrected label.
    assert holder.refresh() and holder.version == candidate
    now = client.post("/v1/triage", json={"text": text}).get_json()["category"]
    assert now.get("suggested", now["label"]) == target

    # 5. A deliberately worse candidate is refused by the gate and changes nothing.
    worse_dir = train_worse(project)
    capsys.readouterr()
    assert main(["models", "promote", worse_dir.name]) == ExitCode.GATE_REFUSED
    assert "gate REFUSED" in capsys.readouterr().err
    assert active(app) == candidate

    # 6. Rollback restores the previous model and its prediction.
    assert main(["models", "rollback"]) == 0
    assert active(app) == first
    assert holder.refresh() and holder.version == first
    again = client.post("/v1/triage", json={"text": text}).get_json()["category"]
    assert again.get("suggested", again["label"]) == old_label


@pytest.mark.slow  # trains and retrains models
def test_a_model_that_fails_to_load_is_refused_and_the_old_one_serves(project, make_app, capsys):
    from triage.service.registry import record

    assert main(["train"]) == 0
    app = make_app()
    holder = app.extensions["triage.models"]
    serving = holder.version
    broken = project / "models" / "99999999-999999-bad"
    shutil.copytree(project / "models" / serving, broken)
    data = (broken / "model.npz").read_bytes()
    (broken / "model.npz").write_bytes(data[: len(data) // 2])
    capsys.readouterr()
    assert main(["models", "promote", broken.name]) == 3  # refused before the registry changes
    assert "Refusing to promote" in capsys.readouterr().err
    # Even if the pointer is moved behind the CLI's back, workers refuse it and keep serving.
    session = app.extensions["triage.db"].session()
    record(session, broken.name, "promote", "someone")
    session.close()
    assert holder.refresh() is False
    assert holder.version == serving
    assert app.test_client().post("/v1/triage", json={"text": VAGUE[0]}).status_code == 200


@pytest.mark.slow  # trains and retrains models
def test_with_the_active_model_damaged_the_gate_compares_with_the_fallback(project, make_app, capsys):
    from triage.engine.persist import load_model, read_card, save_model

    assert main(["train"]) == 0
    app = make_app()
    first = active(app)
    models = project / "models"
    # Good versions of the same quality as the first: re-saved copies under new names.
    damaged, same, also_same = (f"{first[:-4]}{suffix}" for suffix in ("dmgd", "same", "also"))
    good = load_model(models / first)
    card = {k: v for k, v in read_card(models / first).items() if k not in ("schema", "version", "artifact")}
    for version in (damaged, same, also_same):
        good.version_ = version
        save_model(good, models / version, card)
    worse = train_worse(project).name
    assert main(["models", "promote", damaged]) == 0

    def truncate(version: str) -> None:
        artifact = models / version / "model.npz"
        artifact.write_bytes(artifact.read_bytes()[:1000])

    truncate(damaged)  # after its promotion
    restarted = make_app()  # a worker starting now serves the newest earlier version that loads
    assert restarted.extensions["triage.models"].version == first
    capsys.readouterr()

    # A worse candidate is still refused, judged against the fallback.
    assert main(["models", "promote", worse]) == ExitCode.GATE_REFUSED
    err = capsys.readouterr().err
    assert f"compared with {first}, the newest earlier version that loads" in err
    assert f"the active model {damaged} cannot be loaded" in err
    assert "gate REFUSED" in err
    assert active(app) == damaged

    # One as good as the fallback is promoted without --force.
    assert main(["models", "promote", same]) == 0
    err = capsys.readouterr().err
    assert f"compared with {first}" in err and "gate PASSED" in err
    assert active(app) == same
    assert read_card(models / same)["promotions"][-1]["compared_with"] == first

    # --force promotes past a refusal judged against the fallback, and says so in the card.
    truncate(same)
    assert main(["models", "promote", worse, "--force"]) == 0
    err = capsys.readouterr().err
    assert f"compared with {first}" in err and "gate REFUSED" in err
    assert active(app) == worse
    assert read_card(models / worse)["promotions"][-1]["forced"] is True

    # With no version in the history that loads, there is nothing to be worse than.
    truncate(worse)
    truncate(first)
    assert main(["models", "promote", also_same]) == 0
    err = capsys.readouterr().err
    assert "nothing to compare with" in err and "gate PASSED" in err
    assert f"{first} cannot be loaded" in err
    assert active(app) == also_same


def test_settings_see_the_project(project):
    assert load_settings().data_dir == Path(project) / "data"
