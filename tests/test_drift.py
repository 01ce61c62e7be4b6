"""benchmarks.drift end to end on a small stand-in for Haikou: project messages spread over
four months go through intake, reviewers' verdicts, the real retrain path and the gate."""

import csv

import pytest

from benchmarks import drift

pytestmark = pytest.mark.slow


def test_drift_replays_months_through_the_loop(tiny_csv, tmp_path, monkeypatch):
    with open(tiny_csv, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    fake = tmp_path / "haikou.csv"
    months = ["201801", "201801", "201802", "201803"]
    with open(fake, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "title", "text", "category", "department", "request_type", "month"])
        for i, r in enumerate(rows):
            row = [r["id"], r["title"], r["text"], r["category"], r["department"], r["kind"]]
            writer.writerow([*row, months[i % len(months)]])
    monkeypatch.setattr(drift, "HAIKOU", fake)
    lines: list[str] = []
    results = drift.run(1.0, "all", force=True, say=lines.append)
    assert [r["month"] for r in results] == ["201802", "201803"]
    first, second = results
    assert first["retrain"]["promoted"] is True  # forced past the gate
    assert second["model"] != first["model"]  # the retrained model routed the next month
    for r in results:
        for side in ("without", "with"):
            assert 0.0 <= r[side]["accuracy"] <= 1.0 and r[side]["n"] > 0
    assert any("with loop" in line for line in lines)
