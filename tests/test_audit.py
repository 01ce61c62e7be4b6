import csv

from triage.cli import main


def test_audit_lists_a_planted_mislabel_near_the_top(tiny_csv, tmp_path, capsys):
    with open(tiny_csv, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    # A clear tax message labelled as food licence: the audit must point at it.
    planted = {
        **rows[0],
        "id": "planted-1",
        "text": "增值税专用发票开不出来，电子税务局一直报错，申报期快过了",
        "category": "food_license",
        "department": "market_regulation",
        "kind": "complaint",
    }
    data = tmp_path / "audit.csv"
    with open(data, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows([*rows, planted])
    assert main(["audit", "--data", str(data), "--format", "csv", "--limit", "10"]) == 0
    listed = list(csv.DictReader(capsys.readouterr().out.splitlines()))
    top = {r["id"]: r for r in [r for r in listed if r["head"] == "category"][:5]}
    assert "planted-1" in top, list(top)
    assert top["planted-1"]["suggested"] == "tax"
    assert float(top["planted-1"]["p_given"]) < float(top["planted-1"]["p_suggested"])


def test_audit_bad_limit_is_one_sentence(capsys):
    assert main(["audit", "--limit", "0"]) == 2
    assert "at least 1" in capsys.readouterr().err
