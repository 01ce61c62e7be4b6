"""GET /v1/tickets/export and `triage tickets export`: the listing's tickets as CSV or XLSX."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from seeding import NOW, session_at, ticket

BOM = "\ufeff".encode()
PHONE = "13812345678"


def seed(app) -> None:
    """Three tickets of two departments, oldest first, one of them closed and one overdue."""
    url = app.config["TRIAGE"].database_url
    with session_at(url) as s:
        s.add_all(
            [
                ticket(
                    '=HYPERLINK("http://x")供暖不热',
                    category="housing",
                    department="housing_bureau",
                    created_at=NOW - timedelta(days=40),
                    due_at=NOW - timedelta(days=30),
                ),
                ticket(
                    "营业执照办了一个月",
                    department="service_center",
                    status="closed",
                    created_at=NOW - timedelta(days=2),
                    closed_at=NOW - timedelta(days=1),
                ),
                ticket(
                    f"窗口排队两个小时，电话{PHONE}",
                    department="service_center",
                    created_at=NOW,
                    due_at=NOW + timedelta(days=3650),
                ),
            ]
        )
        s.commit()


def rows_of(response) -> list[dict[str, str]]:
    body = response.get_data()
    assert body.startswith(BOM)
    return list(csv.DictReader(io.StringIO(body[len(BOM) :].decode("utf-8"))))


def test_csv_export_has_a_bom_local_times_names_and_masked_text(app, client, make_key):
    seed(app)
    r = client.get("/v1/tickets/export", headers=make_key("reviewer"))
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/csv")
    assert 'filename="tickets-' in r.headers["Content-Disposition"]
    rows = rows_of(r)
    assert len(rows) == 3
    newest = rows[0]  # newest first, like the listing
    assert newest["created_at"] == "2026-11-20 20:00:00"  # NOW is 12:00 UTC; Asia/Shanghai
    assert newest["department"] == "service_center" and newest["department_name"] != "service_center"
    assert any("\u4e00" <= ch <= "\u9fff" for ch in newest["department_name"])
    assert newest["kind"] == "complaint"
    assert "排队" in newest["text"] and PHONE not in newest["text"] and "[PHONE]" in newest["text"]
    assert PHONE not in r.get_data(as_text=True)
    by_status = {row["status"]: row for row in rows}
    assert by_status["closed"]["closed_at"] == "2026-11-19 20:00:00"
    formula = next(row for row in rows if row["department"] == "housing_bureau")
    assert formula["text"].startswith("'=")  # a formula to Excel otherwise
    assert formula["overdue"] == "yes" and by_status["closed"]["overdue"] == "no"


def test_export_is_streamed(app, client, make_key):
    seed(app)
    r = client.get("/v1/tickets/export", headers=make_key("reviewer"))
    assert r.is_streamed
    assert not isinstance(r.response, (list, tuple, bytes))  # an iterator, read as sent


def test_export_takes_the_listing_filters(app, client, make_key):
    seed(app)
    headers = make_key("reviewer")

    def codes(query: str) -> set[str]:
        r = client.get(f"/v1/tickets/export?{query}", headers=headers)
        assert r.status_code == 200, r.get_json()
        return {row["code"] for row in rows_of(r)}

    def listed(query: str) -> set[str]:
        return {t["code"] for t in client.get(f"/v1/tickets?{query}", headers=headers).get_json()["items"]}

    for query in (
        "status=closed",
        "department=housing_bureau",
        "category=housing",
        "since=2026-11-01",
        "overdue=true",
        "overdue=false",
        "needs_review=false",
        "department=service_center&status=received",
    ):
        assert codes(query) == listed(query), query
    assert len(codes("overdue=true")) == 1 and len(codes("since=2026-11-01")) == 2


def test_department_key_exports_its_own_tickets_only(app, client, make_key):
    seed(app)
    mine = make_key("department", "service_center")
    rows = rows_of(client.get("/v1/tickets/export", headers=mine))
    assert len(rows) == 2 and {r["department"] for r in rows} == {"service_center"}
    r = client.get("/v1/tickets/export?department=housing_bureau", headers=mine)
    assert r.status_code == 403


def test_export_needs_a_staff_key_and_a_known_format(app, client, make_key):
    assert client.get("/v1/tickets/export").status_code == 401
    assert client.get("/v1/tickets/export", headers=make_key("intake")).status_code == 403
    r = client.get("/v1/tickets/export?format=pdf", headers=make_key("reviewer"))
    assert r.status_code == 400
    assert r.headers["Content-Type"] == "application/problem+json"
    assert r.get_json()["errors"][0]["field"] == "format"


def test_xlsx_export_opens_and_holds_chinese(app, client, make_key):
    from openpyxl import load_workbook

    seed(app)
    r = client.get("/v1/tickets/export?format=xlsx&department=service_center", headers=make_key("admin"))
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(r.get_data()), read_only=True)
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert rows[0][:3] == ("code", "created_at", "status")
    assert len(rows) == 3
    text = rows[0].index("text")
    assert any("排队" in (row[text] or "") for row in rows[1:])
    assert all(PHONE not in (row[text] or "") for row in rows[1:])


def test_an_empty_export_is_a_header(app, client, make_key):
    r = client.get("/v1/tickets/export?status=closed", headers=make_key("reviewer"))
    assert rows_of(r) == []
    assert r.get_data().decode("utf-8-sig").startswith("code,created_at,status")


def test_export_reads_in_batches_across_many_tickets(database_url):
    """Keyset batches: every ticket once, newest first, whatever the batch size."""
    from sqlalchemy.orm import sessionmaker

    from triage.service import exports
    from triage.storage.db import make_engine

    with session_at(database_url) as s:
        s.add_all([ticket(f"第{i}件事", created_at=NOW - timedelta(hours=i)) for i in range(25)])
        s.commit()
    engine = make_engine(database_url)
    beats = []
    try:
        data = exports.export(
            sessionmaker(engine),
            {},
            tz="Asia/Shanghai",
            names=lambda h, label: label,
            batch=4,
            beat=lambda: beats.append(1),
        )
        rows = list(data.rows)
    finally:
        engine.dispose()
    assert len(beats) == 7  # after each batch: a server's watchdog hears from a long export
    assert [r[-1] for r in rows] == [f"第{i}件事" for i in reversed(range(25))]  # by id, last first


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_cli_export_writes_the_file(fmt, tmp_path, monkeypatch, database_url):
    from triage.cli import main

    monkeypatch.setenv("TRIAGE_DATABASE_URL", database_url)
    with session_at(database_url) as s:
        s.add_all(
            [ticket("窗口排队两个小时"), ticket("供暖不热", category="housing", department="housing_bureau")]
        )
        s.commit()
    out = tmp_path / f"t.{fmt}"
    assert (
        main(["tickets", "export", "--format", fmt, "--output", str(out), "--department", "housing_bureau"])
        == 0
    )
    if fmt == "csv":
        body = out.read_bytes()
        assert body.startswith(BOM)
        rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
        assert [r["text"] for r in rows] == ["供暖不热"]
    else:
        from openpyxl import load_workbook

        rows = list(load_workbook(out, read_only=True).worksheets[0].iter_rows(values_only=True))
        assert len(rows) == 2 and "供暖不热" in rows[1]


def test_cli_export_refuses_an_unknown_format_with_one_sentence(capsys):
    from triage.cli import main

    assert main(["tickets", "export", "--format", "pdf"]) != 0
    assert "pdf" in capsys.readouterr().err


def test_xlsx_goes_on_to_a_new_sheet_when_one_is_full(monkeypatch):
    from openpyxl import load_workbook

    from triage.service import exports

    monkeypatch.setattr(exports, "XLSX_ROWS", 2)
    rows = [[f"C{i}", "文本"] for i in range(5)]
    body = b"".join(exports.xlsx_chunks(exports.Export(["code", "text"], iter(rows))))
    book = load_workbook(io.BytesIO(body), read_only=True)
    sheets = [list(ws.iter_rows(values_only=True)) for ws in book.worksheets]
    assert [len(s) for s in sheets] == [3, 3, 2]  # each with its header
    assert all(s[0] == ("code", "text") for s in sheets)
    assert [r[0] for s in sheets for r in s[1:]] == [f"C{i}" for i in range(5)]


def test_the_commands_statuses_are_the_services():
    from triage.cli.tickets import STATUSES
    from triage.service.status import TRANSITIONS

    assert tuple(TRANSITIONS) == STATUSES
