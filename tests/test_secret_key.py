"""The session-signing key: made once, private from its first byte, never empty or short."""

from __future__ import annotations

import stat
import threading

import pytest

from triage.cli import main
from triage.errors import BadInput
from triage.settings import load_settings


def test_the_key_file_is_made_private_and_whole_once(tmp_path):
    from triage.service.secret_key import secret_key

    conf = load_settings({"secret_key": "", "instance_dir": str(tmp_path / "instance")})
    keys: list[str] = []
    threads = [threading.Thread(target=lambda: keys.append(secret_key(conf))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    path = tmp_path / "instance" / "secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(set(keys)) == 1 and len(keys[0]) == 64  # every racing worker reads the same key
    assert [p.name for p in path.parent.iterdir()] == ["secret_key"]  # no temporary file left
    assert secret_key(conf) == keys[0]


@pytest.mark.parametrize("content", ["", "\n", "short"])
def test_an_empty_or_short_key_file_is_refused_with_one_sentence(tmp_path, content):
    from triage.service.secret_key import secret_key

    (tmp_path / "secret_key").write_text(content)
    with pytest.raises(BadInput, match=r"secret key .* (empty|too short)"):
        secret_key(load_settings({"secret_key": "", "instance_dir": str(tmp_path)}))


def test_a_short_setting_is_refused(tmp_path):
    from triage.service.secret_key import secret_key

    with pytest.raises(BadInput, match="TRIAGE_SECRET_KEY is too short"):
        secret_key(load_settings({"secret_key": "abc", "instance_dir": str(tmp_path)}))


def test_serve_refuses_an_empty_key_file_before_starting(tiny_model_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TRIAGE_MODEL", str(tiny_model_dir))
    (tmp_path / "instance").mkdir(exist_ok=True)
    (tmp_path / "instance" / "secret_key").write_text("")
    assert main(["serve", "--port", "1"]) == BadInput.exit_code
    err = capsys.readouterr().err
    assert "secret key" in err and "empty" in err and "Traceback" not in err
