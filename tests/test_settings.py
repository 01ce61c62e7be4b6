import re
from pathlib import Path

import pytest
from paths import PROJECT_ROOT

from triage.errors import BadInput
from triage.settings import Settings, load_settings


def _readme_rows() -> dict[str, str]:
    """``TRIAGE_X`` → the default column of the README's settings table."""
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    return dict(re.findall(r"^\| `(TRIAGE_[A-Z_0-9]+)` \| ([^|]*) \|", readme, flags=re.M))


def _shown(default: object) -> str:
    if default in ("", {}, Path()):
        return "(empty)"
    if isinstance(default, bool):
        return f"`{str(default).lower()}`"
    return f"`{default}`"


def test_readme_documents_every_setting_with_its_default():
    rows = _readme_rows()
    declared = {Settings.env_name(name): field for name, field in Settings.model_fields.items()}
    assert sorted(rows) == sorted(declared)
    for env, field in declared.items():
        default = field.get_default(call_default_factory=True)
        assert rows[env].strip() == _shown(default), env
        assert field.description, f"{env} has no help text"


def test_environment_overrides_defaults_and_config_overrides_both(monkeypatch):
    monkeypatch.setenv("TRIAGE_BATCH_LIMIT", "7")
    monkeypatch.setenv("TRIAGE_OPEN_INTAKE", "yes")
    monkeypatch.setenv("TRIAGE_PAGE_SIZE", "9")
    conf = load_settings({"page_size": 3})
    assert conf.batch_limit == 7 and conf.open_intake is True and conf.page_size == 3


def test_settings_are_frozen_and_copied_with_changes():
    conf = load_settings({"model": "/some/model"})
    with pytest.raises(ValueError):
        conf.model = ""  # type: ignore[misc]
    assert conf.model_copy(update={"model": ""}).model == "" and conf.model == "/some/model"


def test_every_bad_variable_is_named_in_one_error(monkeypatch):
    bad = {
        "TRIAGE_COVERAGE": "1.5",
        "TRIAGE_PAGE_SIZE": "0",
        "TRIAGE_TIMEZONE": "Mars/Base",
        "TRIAGE_TARGET_PRECISION": "nan",
        "TRIAGE_BATCH_LIMIT": "many",
        "TRIAGE_LOOKUP_RATE_LIMIT": "lots",
        "TRIAGE_TIME_LIMITS": "tax=5,other",
    }
    for name, value in bad.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(BadInput) as caught:
        load_settings()
    message = str(caught.value)
    for name, value in bad.items():
        assert f"{name}={value} is not valid" in message
    assert message.count(" is not valid: ") == len(bad)


def test_unknown_override_is_refused():
    with pytest.raises(BadInput, match="Unknown setting: 'no_such'"):
        load_settings({"no_such": 1})


def test_dotenv_in_the_current_folder_beats_the_home_folder_and_loses_to_the_environment(
    tmp_path, monkeypatch
):
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    (home / ".env").write_text("TRIAGE_PAGE_SIZE=11\nTRIAGE_BATCH_LIMIT=12\nTRIAGE_SESSION_HOURS=3\n")
    (work / ".env").write_text("TRIAGE_PAGE_SIZE=21\nTRIAGE_BATCH_LIMIT=22\nOTHER_TOOL=x\n")
    monkeypatch.setenv("TRIAGE_HOME", str(home))
    monkeypatch.delenv("TRIAGE_MODELS_DIR")
    monkeypatch.delenv("TRIAGE_INSTANCE_DIR")
    monkeypatch.setenv("TRIAGE_BATCH_LIMIT", "33")
    monkeypatch.chdir(work)
    conf = load_settings()
    assert (conf.session_hours, conf.page_size, conf.batch_limit) == (3.0, 21, 33)
    assert conf.models_dir == home / "models" and conf.instance_dir == home / "instance"


def test_time_limits_and_log_level_are_parsed(monkeypatch):
    monkeypatch.setenv("TRIAGE_TIME_LIMITS", " tax = 5, other=15 ")
    monkeypatch.setenv("TRIAGE_LOG_LEVEL", "debug")
    conf = load_settings()
    assert conf.time_limits == {"tax": 5, "other": 15} and conf.log_level == "DEBUG"


def test_serve_refuses_bad_settings_with_one_sentence_each_and_no_traceback(monkeypatch, capsys):
    from triage.cli import main

    monkeypatch.setenv("TRIAGE_COVERAGE", "1.5")
    monkeypatch.setenv("TRIAGE_TIMEZONE", "Mars/Base")
    assert main(["serve"]) == BadInput.exit_code
    err = capsys.readouterr().err
    assert err.startswith("triage: ") and "Traceback" not in err
    assert "TRIAGE_COVERAGE=1.5" in err and "TRIAGE_TIMEZONE=Mars/Base" in err
