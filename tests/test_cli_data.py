"""A centre's own export on the command line: Chinese columns and labels, GB18030 and .xlsx,
--head mapping, the taxonomy.json a model folder carries, predictions into CSV/.xlsx/JSONL."""

from __future__ import annotations

import csv
import json
from collections import Counter

import pytest
from openpyxl import Workbook, load_workbook
from paths import PROJECT_ROOT

from triage.cli import main
from triage.cli.dataopts import MIN_ROWS as CLI_MIN_ROWS
from triage.engine.data import MIN_ROWS
from triage.engine.persist import load_model, read_card
from triage.engine.readers import open_table
from triage.engine.taxonomy import TAXONOMY

DEFAULT_TAXONOMY = json.loads((PROJECT_ROOT / "data" / "taxonomy.json").read_text(encoding="utf-8"))
COLUMNS = ["工单编号", "标题", "诉求内容", "承办单位", "问题分类"]


def _names(head):
    return {lab: info["name"] for lab, info in DEFAULT_TAXONOMY["heads"][head]["labels"].items()}


@pytest.fixture(scope="module")
def orders(tiny_csv, tmp_path_factory):
    """The tiny data as a centre exports it: Chinese headers, Chinese labels, no kind column,
    one row without a text, one without a unit, and one unit with only two rows."""
    dept, cat = _names("department"), _names("category")
    with open(tiny_csv, encoding="utf-8") as fh:
        rows = [
            [r["id"], r["title"], r["text"], dept[r["department"]], cat[r["category"]]]
            for r in csv.DictReader(fh)
        ]
    rows[0][2] = ""  # no text
    rows[1][3] = ""  # no unit
    rows[2][3] = rows[3][3] = "区档案馆"  # a rare unit
    return tmp_path_factory.mktemp("orders"), rows


@pytest.fixture(scope="module")
def gb_csv(orders):
    folder, rows = orders
    path = folder / "工单.csv"
    with open(path, "w", encoding="gb18030", newline="") as fh:
        csv.writer(fh).writerows([COLUMNS, *rows])
    return path


@pytest.fixture(scope="module")
def xlsx(orders):
    folder, rows = orders
    book = Workbook()
    sheet = book.active
    sheet.title = "工单"
    sheet.append(COLUMNS)
    for row in rows:
        sheet.append(row)
    path = folder / "工单.xlsx"
    book.save(path)
    return path


MAPPING = [
    "--id",
    "工单编号",
    "--text",
    "诉求内容",
    "--title",
    "标题",
    "--head",
    "department=承办单位",
    "--head",
    "category=问题分类",
]


def test_min_rows_is_one_number():
    assert CLI_MIN_ROWS == MIN_ROWS


@pytest.fixture(scope="module")
def centre_model(gb_csv, tmp_path_factory):
    out = tmp_path_factory.mktemp("centre") / "model"
    code = main(["train", "--data", str(gb_csv), *MAPPING, "--out", str(out)])
    assert code == 0
    return out


def test_train_with_head_mapping_on_a_gb18030_export(centre_model):
    card = read_card(centre_model)
    assert set(card["heads"]) == {"department", "category"}  # no kind: the export has none
    assert "区市场监管局" in card["heads"]["department"]["labels"]
    assert card["data"][0]["encoding"] == "gb18030"
    report = card["data_report"]
    assert report["empty_text"] == 1 and report["empty_label"]["department"] == 1
    assert report["rare_labels"]["department"] == ["区档案馆"]
    model = load_model(centre_model)
    assert (
        model.route("营业执照办理流程是什么")["department"]["label"] in card["heads"]["department"]["labels"]
    )


def test_the_model_folder_carries_its_taxonomy(centre_model, orders):
    _, rows = orders
    taxonomy = json.loads((centre_model / TAXONOMY).read_text(encoding="utf-8"))
    units = Counter(r[3] for r in rows if r[2] and r[3])
    assert set(taxonomy) == {"fallback", "heads"}
    assert set(taxonomy["heads"]["department"]["labels"]) == set(units)
    assert taxonomy["heads"]["department"]["labels"]["区档案馆"] == {"name": "区档案馆"}  # no time limit
    assert taxonomy["heads"]["department"]["name"] == "承办部门"  # the role's name, from the bundled file
    # No --fallback, and the bundled general_office is not a label: the most frequent unit.
    assert taxonomy["fallback"] == {"department": units.most_common(1)[0][0]}
    assert load_model(centre_model).fallback == taxonomy["fallback"]


def test_editing_the_taxonomy_never_refuses_the_model(centre_model, tmp_path):
    edited = tmp_path / "edited"
    edited.mkdir()
    for name in ("model.npz", "card.json", TAXONOMY):
        (edited / name).write_bytes((centre_model / name).read_bytes())
    taxonomy = json.loads((edited / TAXONOMY).read_text(encoding="utf-8"))
    taxonomy["heads"]["department"]["labels"]["区档案馆"]["name"] = "档案馆（新名）"
    (edited / TAXONOMY).write_text(json.dumps(taxonomy, ensure_ascii=False), encoding="utf-8")
    assert load_model(edited).version_ == read_card(centre_model)["version"]


def test_xlsx_trains_the_same_model(centre_model, xlsx, tmp_path, capfd):
    out = tmp_path / "m"
    assert main(["train", "--data", str(xlsx), *MAPPING, "--sheet", "工单", "--out", str(out)]) == 0
    a, b = read_card(centre_model), read_card(out)
    # The same rows and texts: the same model (liblinear fits one at a time, so repeatably).
    assert (a["n_train"], a["n_features"]) == (b["n_train"], b["n_features"])
    for head in ("department", "category"):
        assert a["heads"][head]["labels"] == b["heads"][head]["labels"]
        assert a["heads"][head]["metrics"] == b["heads"][head]["metrics"]
    assert b["data"][0]["sheet"] == "工单"


def test_default_data_copies_names_and_time_limits(tiny_csv, tmp_path):
    out = tmp_path / "m"
    assert main(["train", "--data", str(tiny_csv), "--out", str(out), "--drop-rare"]) == 0
    taxonomy = json.loads((out / TAXONOMY).read_text(encoding="utf-8"))
    assert taxonomy["fallback"] == {"department": "general_office"}
    assert set(taxonomy["heads"]) == {"category", "department", "kind"}
    for head, spec in taxonomy["heads"].items():
        bundled = DEFAULT_TAXONOMY["heads"][head]
        assert spec["name"] == bundled["name"]
        for label, info in spec["labels"].items():
            assert info == bundled["labels"][label]  # names and time limits, exactly


def test_fallback_option_is_checked(gb_csv, tmp_path, capsys):
    code = main(
        ["train", "--data", str(gb_csv), *MAPPING, "--fallback", "区税务局", "--out", str(tmp_path / "a")]
    )
    assert code == 0
    assert json.loads((tmp_path / "a" / TAXONOMY).read_text())["fallback"] == {"department": "区税务局"}
    assert "given with --fallback" in capsys.readouterr().err
    code = main(
        [
            "train",
            "--data",
            str(gb_csv),
            *MAPPING,
            "--fallback",
            "general_office",
            "--out",
            str(tmp_path / "b"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "'general_office' is not one of the department labels" in err
    assert not (tmp_path / "b").exists()  # refused before training


def test_rare_labels_are_reported_and_dropped_on_request(gb_csv, tmp_path, capsys):
    out = tmp_path / "m"
    assert main(["train", "--data", str(gb_csv), *MAPPING, "--drop-rare", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "1 of " in err and "have an empty text" in err
    assert "1 rows have no department label" in err
    assert f"1 department labels have fewer than {MIN_ROWS} rows, left out of that head" in err
    assert "区档案馆" not in read_card(out)["heads"]["department"]["labels"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["--text", "内容"],
            "has no column '内容' (given by --text); its columns are: 工单编号, 标题, 诉求内容",
        ),
        (
            ["--text", "诉求内容", "--head", "department=单位"],
            "has no column '单位' (given by --head department=单位)",
        ),
        (["--text", "诉求内容", "--head", "department"], "is not NAME=COLUMN"),
        (["--text", "诉求内容", "--head", "部门=承办单位"], "cannot name a head"),
        (["--text", "诉求内容", "--head", "status=承办单位"], "cannot be named 'status'"),
        (["--text", "诉求内容", "--sheet", "工单"], "--sheet applies to .xlsx files only"),
        (["--text", "诉求内容", "--encoding", "nope"], "not an encoding"),
        (["--text", "诉求内容", "--min-rows", "0"], "--min-rows must be at least 1"),
    ],
)
def test_bad_options_are_one_sentence(gb_csv, tmp_path, capsys, extra, message):
    assert main(["train", "--data", str(gb_csv), *extra, "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_column_options_without_data_are_refused(capsys):
    assert main(["train", "--text", "诉求内容"]) == 2
    assert "--text describes the --data files" in capsys.readouterr().err


def test_evaluate_and_benchmark_read_the_export(centre_model, gb_csv, xlsx, orders, capsys):
    _, rows = orders
    columns = [a for a in MAPPING if a not in ("--id", "工单编号")]  # evaluate holds nothing out
    assert main(["evaluate", "--model", str(centre_model), "--data", str(xlsx), *columns, "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert set(results) == {"department", "category"}
    assert results["department"]["n"] == len(rows) - 2  # less the row without text and without unit
    assert results["category"]["n"] == len(rows) - 1
    code = main(
        ["benchmark", "--train", str(gb_csv), "--folds", "2", "--target", "问题分类", "--text", "诉求内容"]
    )
    assert code == 0
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert figures["classes"] >= 10 and figures["accuracy"] > 0.3


# -- predict ----------------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["gb_csv", "xlsx"])
@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".jsonl"])
def test_predict_a_table_into_csv_xlsx_or_jsonl(
    request, centre_model, orders, source, suffix, tmp_path, capsys
):
    _, rows = orders
    src = request.getfixturevalue(source)
    out = tmp_path / f"predictions{suffix}"
    argv = ["predict", "--model", str(centre_model), "--input", str(src), "--text", "诉求内容"]
    assert main([*argv, "--title", "标题", "--output", str(out)]) == 0
    assert "1 rows have an empty text" in capsys.readouterr().err
    labels = set(read_card(centre_model)["heads"]["department"]["labels"])
    if suffix == ".jsonl":
        results = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        assert len(results) == len(rows) - 1  # the row without a text is left out, and said so
        assert all(r["department"]["label"] in labels for r in results)
        return
    if suffix == ".csv":
        assert out.read_bytes()[:3] == b"\xef\xbb\xbf"  # the BOM Excel needs to read UTF-8
        with open(out, encoding="utf-8-sig", newline="") as fh:
            written = list(csv.DictReader(fh))
    else:
        written = list(open_table(out).rows)  # open_table keeps rows with empty cells
    assert len(written) == len(rows)  # every input row, in order, the empty one unpredicted
    assert [w["工单编号"] for w in written] == [r[0] for r in rows]
    assert written[0]["predicted_department"] == ""
    assert all(w["predicted_department"] in labels for w in written[1:])
    assert {"predicted_category_name", "predicted_department_confidence", "needs_review"} <= set(written[0])


def test_predict_texts_into_xlsx_needs_a_file(centre_model, tmp_path, capsys):
    assert main(["predict", "--model", str(centre_model), "--format", "xlsx", "路灯坏了"]) == 2
    assert "needs a file" in capsys.readouterr().err
    out = tmp_path / "p.xlsx"
    assert main(["predict", "--model", str(centre_model), "--output", str(out), "=1+1 路灯坏了"]) == 0
    ws = load_workbook(out).worksheets[0]
    assert ws["A2"].value == "=1+1 路灯坏了" and ws["A2"].data_type == "s"  # text, never a formula


def test_predict_into_csv_keeps_formulas_as_text(centre_model, tmp_path):
    out = tmp_path / "p.csv"
    texts = ['=HYPERLINK("http://x") 路灯坏了', "@SUM(1) 井盖丢了", "路灯坏了"]
    assert main(["predict", "--model", str(centre_model), "--output", str(out), *texts]) == 0
    with open(out, encoding="utf-8-sig", newline="") as fh:
        written = [row["text"] for row in csv.DictReader(fh)]
    assert written == ["'" + texts[0], "'" + texts[1], texts[2]]  # spreadsheets show, never run


def test_retrain_reads_the_centres_files_and_keeps_its_taxonomy(gb_csv, tmp_path, settings, capsys):
    assert main(["train", "--data", str(gb_csv), *MAPPING]) == 0  # registered, and active
    active = next(settings.models_dir.glob("*/card.json")).parent
    taxonomy = json.loads((active / TAXONOMY).read_text(encoding="utf-8"))
    taxonomy["heads"]["department"]["labels"]["区档案馆"]["name"] = "档案馆（员工改的名）"
    (active / TAXONOMY).write_text(json.dumps(taxonomy, ensure_ascii=False), encoding="utf-8")
    capsys.readouterr()
    # Without --data, retrain would use the project's data, which this model was not trained on.
    assert main(["retrain", "--no-promote"]) == 2
    assert "retrain it from its own data files" in capsys.readouterr().err
    assert main(["retrain", "--data", str(gb_csv), *MAPPING, "--no-promote"]) == 0
    err = capsys.readouterr().err
    assert f"compared with the active model {active.name}" in err
    # Versions made in the same second sort by their random suffix: pick the one not active.
    (candidate,) = [c.parent for c in settings.models_dir.glob("*/card.json") if c.parent != active]
    assert json.loads((candidate / TAXONOMY).read_text(encoding="utf-8")) == taxonomy  # the edit kept
    # The gate of `models promote` reads the same files (without them: the project's data).
    assert main(["models", "promote", candidate.name]) == 2
    capsys.readouterr()
    assert main(["models", "promote", candidate.name, "--data", str(gb_csv), *MAPPING]) in (0, 4)
    assert f"compared with the active model {active.name}" in capsys.readouterr().err
