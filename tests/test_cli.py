import json

import pytest

from triage.cli import main


def test_train_writes_a_model_folder_and_prints_metrics(tiny_csv, tmp_path, capsys, settings):
    out = tmp_path / "m"
    assert main(["train", "--data", str(tiny_csv), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert str(out) in printed
    assert "macro-F1" in printed
    assert (out / "card.json").is_file()


def test_predict_texts_and_jsonl_in_order(tiny_model_dir, tmp_path, capsys):
    lines = tmp_path / "in.jsonl"
    lines.write_text(
        json.dumps({"text": "公司注销要登报吗", "title": "注销"}, ensure_ascii=False)
        + "\n\n"
        + json.dumps({"text": "排队太久"}, ensure_ascii=False)
        + "\n",
        encoding="utf-8",
    )
    code = main(["predict", "--model", str(tiny_model_dir), "--input", str(lines), "营业执照怎么办"])
    assert code == 0
    results = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert len(results) == 3
    for r in results:
        assert {"category", "department", "kind", "needs_review", "model_version"} <= set(r)
        assert {"label", "name", "confidence", "alternatives", "candidates", "reasons"} <= set(r["kind"])


def test_predict_refuses_a_bad_jsonl_line_before_writing_anything(tiny_model_dir, tmp_path, capsys):
    lines = tmp_path / "in.jsonl"
    good = json.dumps({"text": "排队太久"}, ensure_ascii=False)
    lines.write_text("\n".join([good] * 3 + ["{not json"]) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert main(["predict", "--model", str(tiny_model_dir), "--input", str(lines), "--output", str(out)]) == 2
    assert "Line 4" in capsys.readouterr().err
    assert not out.exists()  # refused before the model was loaded or a row written


def test_predict_without_a_model_trains_the_default_first(tiny_csv, settings, monkeypatch, capsys):
    monkeypatch.setattr("triage.engine.training.default_data_files", lambda conf: [tiny_csv])
    assert main(["predict", "排队等了两个小时"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["category"]["label"]
    assert "training the default model first" in captured.err


def test_evaluate_prints_figures_and_writes_a_report(tiny_model_dir, tiny_csv, tmp_path, capsys):
    report = tmp_path / "report"
    code = main(
        [
            "evaluate",
            "--model",
            str(tiny_model_dir),
            "--data",
            str(tiny_csv),
            "--report",
            str(report),
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "macro-F1" in out and "| label | precision |" in out
    png = report / "confusion_category.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    assert "confusion_category.png" in (report / "report.md").read_text()


def test_benchmark_prints_one_json_object_last(tiny_csv, capsys):
    assert main(["benchmark", "--train", str(tiny_csv), "--folds", "2", "--target", "kind"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    figures = json.loads(last)
    for key in (
        "accuracy",
        "macro_f1",
        "top3",
        "n_train",
        "n_test",
        "classes",
        "fit_s",
        "predict_texts_per_s",
    ):
        assert key in figures
    assert figures["classes"] == 4
    assert 0.25 <= figures["accuracy"] <= 1.0


def test_benchmark_counts_unseen_test_labels_as_errors(tiny_csv, tmp_path, capsys):
    test = tmp_path / "test.csv"
    test.write_text("text,kind\n营业执照怎么办,brand_new_label\n", encoding="utf-8")
    main(["benchmark", "--train", str(tiny_csv), "--test", str(test), "--target", "kind"])
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert figures["unseen_labels"] == 1 and figures["accuracy"] == 0.0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--data", "/nonexistent.csv"], "does not exist"),
        (["predict", "--input", "/nonexistent.jsonl", "--model", "."], "does not exist"),
        (["predict", "   "], "empty"),
        (["predict"], "Give texts"),
        (["predict", "--model", "/nonexistent", "x"], "does not exist"),
        (["benchmark", "--train", "{csv}", "--folds", "2", "--target", "nope"], "no column 'nope'"),
        (["benchmark", "--train", "{csv}", "--folds", "1", "--target", "kind"], "at least 2"),
        (["evaluate", "--model", "{model}", "--data", "{nolabels}"], "none of the model's heads"),
    ],
)
def test_bad_input_exits_non_zero_with_one_sentence(
    argv, message, tiny_csv, tiny_model_dir, tmp_path, capsys
):
    nolabels = tmp_path / "nolabels.csv"
    nolabels.write_text("text,other\n你好,x\n", encoding="utf-8")
    argv = [a.format(csv=tiny_csv, model=tiny_model_dir, nolabels=nolabels) for a in argv]
    assert main(argv) != 0
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_empty_texts_in_training_data_are_counted_not_fatal(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("text,category\n营业执照,a\n  ,b\n", encoding="utf-8")
    assert main(["train", "--data", str(bad), "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert "1 of 2 rows have an empty text" in err
    assert "Cannot train on this data" in err and "Traceback" not in err  # one row is left


def test_empty_line_text_in_jsonl_is_refused(tiny_model_dir, tmp_path, capsys):
    lines = tmp_path / "in.jsonl"
    lines.write_text('{"text": "ok"}\n{"text": " "}\n', encoding="utf-8")
    assert main(["predict", "--model", str(tiny_model_dir), "--input", str(lines)]) == 2
    assert "Line 2" in capsys.readouterr().err


def test_data_a_head_cannot_learn_from_is_one_sentence(tmp_path, capsys):
    bad = tmp_path / "one_label.csv"
    bad.write_text("text,category\n营业执照办理,a\n营业执照变更,a\n营业执照注销,a\n", encoding="utf-8")
    assert main(["train", "--data", str(bad), "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert "needs at least two labels" in err and "Traceback" not in err
