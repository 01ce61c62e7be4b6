import pytest
from paths import PROJECT_ROOT

from triage.errors import BadInput
from triage.settings import SETTINGS, load_settings


def test_readme_documents_every_setting():
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    missing = [s.env for s in SETTINGS if f"`{s.env}`" not in readme]
    assert not missing


def test_environment_overrides_defaults_and_config_overrides_both():
    env = {"TRIAGE_BATCH_LIMIT": "7", "TRIAGE_OPEN_INTAKE": "yes"}
    conf = load_settings({"page_size": 3}, environ=env)
    assert conf["batch_limit"] == 7 and conf["open_intake"] is True and conf["page_size"] == 3


def test_bad_values_are_one_clear_error():
    with pytest.raises(BadInput, match="TRIAGE_BATCH_LIMIT"):
        load_settings(environ={"TRIAGE_BATCH_LIMIT": "many"})
    with pytest.raises(BadInput, match="Unknown setting"):
        load_settings({"no_such": 1})
