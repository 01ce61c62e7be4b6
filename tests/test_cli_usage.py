"""The command line people expect: version, help with examples and defaults, --json listings,
and every documented exit status produced by a real command path."""

from __future__ import annotations

import argparse
import csv
import json
import re
import shutil

from paths import PROJECT_ROOT

from triage import __version__
from triage.cli import _parser, main
from triage.errors import ExitCode


def _parsers(parser: argparse.ArgumentParser, path: str = "triage"):
    """Every parser under ``triage``, with the command line that reaches it."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _parsers(child, f"{path} {name}")


def test_version(capsys):
    assert main(["--version"]) == ExitCode.OK
    assert capsys.readouterr().out.strip() == f"triage {__version__}"


def test_every_command_and_option_has_help_and_an_example():
    seen = []
    for path, parser in _parsers(_parser()):
        seen.append(path)
        assert parser.description, path
        assert parser.epilog and re.search(r"^  (\S+=\S+ )*triage ", parser.epilog, re.M), path
        for action in parser._actions:
            if not isinstance(action, argparse._SubParsersAction):
                assert action.help and action.help != argparse.SUPPRESS, f"{path} {action.dest}"
    assert {"triage keys list", "triage models promote", "triage serve"} <= set(seen)


def test_help_shows_defaults_but_not_empty_ones(capsys):
    assert main(["serve", "--help"]) == ExitCode.OK
    out = " ".join(capsys.readouterr().out.split())
    assert "(default: 8000)" in out and "(default: 127.0.0.1)" in out and "examples:" in out
    assert "(default: None)" not in out and "(default: False)" not in out


def test_readme_documents_every_exit_status():
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `(\d+)` \| ([^|]+) \|", readme, flags=re.M))
    assert {int(code) for code in rows} == {int(code) for code in ExitCode}


def test_keys_and_models_list_as_json(capsys, tiny_model_dir, settings):
    assert main(["keys", "create", "--role", "intake", "--name", "form"]) == 0
    capsys.readouterr()
    assert main(["keys", "list", "--json"]) == 0
    (key,) = json.loads(capsys.readouterr().out)
    assert key["role"] == "intake" and key["name"] == "form" and key["revoked_at"] is None
    assert main(["keys", "list"]) == 0
    table = capsys.readouterr().out
    assert table.startswith(key["prefix"]) and "intake" in table and "active" in table
    shutil.copytree(tiny_model_dir, settings.models_dir / "20000101-000000-tiny")
    assert main(["models", "list", "--json"]) == 0
    (model,) = json.loads(capsys.readouterr().out)
    assert model["version"] == "20000101-000000-tiny" and set(model["cv_macro_f1"]) == {
        "category",
        "department",
        "kind",
    }


def _worse_csv(folder) -> str:
    path = folder / "worse.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "text", "category", "department", "kind"])
        for i, short in enumerate(["营业执照", "排队", "社保", "发票", "注销", "预约"] * 3):
            odd = i % 2
            writer.writerow(
                [
                    f"w{i}",
                    short,
                    ("tax", "other")[odd],
                    ("tax_bureau", "general_office")[odd],
                    ("complaint", "suggestion")[odd],
                ]
            )
    return str(path)


def test_every_documented_exit_status_has_a_command_that_gives_it(
    tmp_path, tiny_model_dir, settings, monkeypatch, capsys
):
    produced: dict[int, str] = {}

    def check(code: ExitCode, *argv: str) -> None:
        assert main(list(argv)) == code, argv
        produced[code] = capsys.readouterr().err

    check(ExitCode.OK, "--version")
    check(ExitCode.BAD_INPUT, "predict", "--input", str(tmp_path / "missing.jsonl"))
    check(ExitCode.BAD_INPUT, "serve", "--port", "0")
    check(ExitCode.MODEL_REFUSED, "predict", "--model", str(tmp_path), "排队太久")
    (tmp_path / "file").write_text("")
    check(
        ExitCode.ERROR,
        "report",
        "--from",
        "2026-11-01",
        "--to",
        "2026-11-02",
        "--out",
        str(tmp_path / "file" / "x"),
    )

    # The gate: an active model, then a clearly worse candidate.
    shutil.copytree(tiny_model_dir, settings.models_dir / "20000101-000000-tiny")
    check(ExitCode.OK, "models", "promote", "20000101-000000-tiny")
    check(
        ExitCode.OK,
        "train",
        "--data",
        _worse_csv(tmp_path),
        "--out",
        str(settings.models_dir / "20000101-000001-worse"),
    )
    check(ExitCode.GATE_REFUSED, "models", "promote", "20000101-000001-worse")
    assert "gate REFUSED" in produced[ExitCode.GATE_REFUSED]

    monkeypatch.setenv("TRIAGE_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    check(ExitCode.DATABASE_UNUSABLE, "keys", "list")
    monkeypatch.delenv("TRIAGE_DATABASE_URL")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("triage.engine.training.train", interrupted)
    check(ExitCode.INTERRUPTED, "train", "--data", _worse_csv(tmp_path))

    assert set(produced) == set(ExitCode)
    for code, err in produced.items():
        if code != ExitCode.OK:
            assert err.splitlines()[-1].startswith("triage: ") and "Traceback" not in err, (code, err)
