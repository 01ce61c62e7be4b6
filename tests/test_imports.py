"""`triage tickets import`: a centre's past tickets into the store, once, with what intake adds."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import seeding
from paths import PROJECT_ROOT
from seeding import NOW, session_at
from sqlalchemy import func, select

from triage.cli import main
from triage.service import repeats
from triage.service.codes import normalize_code
from triage.service.imports import parse_status, parse_time
from triage.service.words import Words
from triage.storage.schema import Ticket, TicketBand, TicketEvent, TicketWords

HEADER = ["工单编号", "受理时间", "标题", "诉求内容", "类别", "承办单位", "状态"]
PHONE = "13812345678"
ROWS = [
    [
        "HK-1",
        "2026/11/02 09:30",
        "",
        f"小区门口路灯坏了一个月，电话{PHONE}",
        "housing",
        "housing_bureau",
        "已办结",
    ],
    ["HK-2", "2026年11月3日", "排队", "窗口排队两个小时没人管", "queue_waiting", "service_center", "处理中"],
    ["HK-3", "2026-11-04 10:00:00", "", "   ", "housing", "housing_bureau", "已办结"],
    ["HK-4", "昨天", "", "营业执照办理太慢", "business_license", "market_regulation", "已办结"],
    ["HK-5", "2026-11-05", "", "供暖不热", "housing", "housing_bureau", "不知道"],
    ["HK-6", "20261106", "", "公积金提取要跑三次", "", "housing_fund_center", "closed"],
]


def write_csv(path, rows, encoding="utf-8-sig", header=HEADER):
    with open(path, "w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def run_import(path, *extra):
    return main(
        [
            *("tickets", "import", str(path), "--text", "诉求内容", "--title", "标题"),
            *("--head", "category=类别", "--head", "department=承办单位"),
            *("--created-at", "受理时间", "--status", "状态"),
            *extra,
        ]
    )


@pytest.fixture()
def db(database_url, monkeypatch):
    monkeypatch.setenv("TRIAGE_DATABASE_URL", database_url)
    return database_url


def stored(url):
    with session_at(url) as s:
        tickets = list(s.scalars(select(Ticket).order_by(Ticket.id)))
        events = int(s.scalar(select(func.count()).select_from(TicketEvent)) or 0)
        bands = int(s.scalar(select(func.count()).select_from(TicketBand)) or 0)
        return tickets, events, bands


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gbk"])
def test_import_with_chinese_headers_counts_bad_rows_and_stores_what_intake_would(
    encoding, db, tmp_path, capsys
):
    path = write_csv(tmp_path / "orders.csv", ROWS, encoding)
    assert run_import(path, "--id", "工单编号") == 0
    err = capsys.readouterr().err
    assert "Imported 3 tickets from 6 rows" in err and "3 refused" in err
    assert "row 4:" in err and "row 5:" in err and "row 6:" in err  # empty text, date, status
    tickets, events, bands = stored(db)
    assert [t.external_id for t in tickets] == ["HK-1", "HK-2", "HK-6"]
    assert len({t.code for t in tickets}) == 3 and all(normalize_code(t.code) == t.code for t in tickets)
    first, second, third = tickets
    assert first.text.endswith(PHONE) and PHONE not in first.text_masked and "[PHONE]" in first.text_masked
    assert first.created_at == datetime(2026, 11, 2, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert first.status == "closed" and second.status == "dispatched"
    assert second.title == "排队" and second.text_masked.startswith("排队")
    assert first.labels == {"category": "housing", "department": "housing_bureau"}
    assert (first.category, first.department) == ("housing", "housing_bureau")
    assert third.category is None and third.labels == {"department": "housing_fund_center"}
    assert first.due_at > first.created_at
    assert events == 3 and bands == 3 * repeats.BANDS


def test_a_second_run_adds_nothing_twice(db, tmp_path, capsys):
    path = write_csv(tmp_path / "orders.csv", ROWS)
    assert run_import(path, "--id", "工单编号") == 0
    capsys.readouterr()
    assert run_import(path, "--id", "工单编号") == 0
    assert "Imported 0 tickets from 6 rows of orders.csv; 3 were there already" in capsys.readouterr().err
    more = write_csv(
        tmp_path / "more.csv", [*ROWS, ["HK-7", "2026-11-07", "", "噪音扰民", "housing", "x", "已办结"]]
    )
    assert run_import(more, "--id", "工单编号") == 0
    tickets, events, _ = stored(db)
    assert len(tickets) == 4 and events == 4


def test_without_an_id_column_a_row_is_known_by_its_content(db, tmp_path):
    path = write_csv(tmp_path / "orders.csv", ROWS)
    assert run_import(path) == 0
    assert run_import(path) == 0
    assert len(stored(db)[0]) == 3


def test_an_unknown_column_names_the_columns_the_file_has(db, tmp_path, capsys):
    path = write_csv(tmp_path / "orders.csv", ROWS)
    assert run_import(path, "--id", "编号") != 0
    err = capsys.readouterr().err
    assert "编号" in err and "工单编号" in err and "Traceback" not in err
    assert main(["tickets", "import", str(path), "--text", "诉求内容", "--head", "department"]) != 0


def test_xlsx_import(db, tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "工单"
    sheet.append(HEADER)
    for row in ROWS[:2]:
        sheet.append(row)
    book.save(tmp_path / "orders.xlsx")
    assert run_import(tmp_path / "orders.xlsx", "--sheet", "工单", "--id", "工单编号") == 0
    assert [t.text_masked[:2] for t in stored(db)[0]] == ["小区", "排队"]


class _Collect:
    """Stands in for a session: keeps what seeding would add."""

    def __init__(self):
        self.rows = []

    def add_all(self, rows):
        self.rows.extend(rows)

    def commit(self):
        pass


def test_stats_and_hotspots_see_the_imported_history(db, tmp_path):
    from triage.service import hotspots, stats

    history = _Collect()
    seeding.ordinary_traffic(history)
    seeding.queue_spike(history)
    local = ZoneInfo("Asia/Shanghai")
    rows = [
        [f"H{i}", t.created_at.astimezone(local).isoformat(), "", t.text, t.category, t.department, "已办结"]
        for i, t in enumerate(history.rows)
    ]
    assert run_import(write_csv(tmp_path / "year.csv", rows), "--id", "工单编号") == 0
    with session_at(db) as s:
        heads = ("category", "department")
        summary = stats.summary(s, NOW - timedelta(days=60), NOW + timedelta(seconds=1), now=NOW, heads=heads)
        assert summary["total"] == len(rows)
        words = Words.load(PROJECT_ROOT / "data")
        stored = dict(s.execute(select(Ticket.text_masked, TicketWords.words).join(Ticket.words)).all())
        assert len(stored) > 1 and all(words.stored(text) == w for text, w in stored.items())
        assert s.scalar(select(func.count()).select_from(TicketWords)) == len(rows)  # segmented at import
        found = hotspots.spikes(s, NOW, timedelta(days=1), timedelta(days=28), words)["hotspots"]
    assert found and found[0]["category"] == "queue_waiting"


def test_an_import_counts_its_tickets_into_the_rollups(db, tmp_path):
    from test_rollups import MODELS, assert_summary_is_the_scan

    from triage.storage import rollups

    assert run_import(write_csv(tmp_path / "h.csv", ROWS), "--id", "工单编号") == 0
    with session_at(db) as s:
        assert rollups.stored(s) == rollups.count(s, [])  # written by COPY / INSERT, counted
        for heads in MODELS:
            got = assert_summary_is_the_scan(s, None, None, None, heads)
            assert got["total"] == 3  # HK-3 (empty text), HK-4 (date), HK-5 (status) refused
        assert (
            assert_summary_is_the_scan(s, None, None, None, ("category", "department"))["counts"]["category"][
                "None"
            ]
            == 1
        )  # HK-6 has no category


def test_a_new_intake_repeats_an_imported_open_ticket(db, tmp_path):
    from test_repeats import COMPLAINT, RESUBMITTED, intake

    yesterday = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    row = ["HK-9", yesterday, "", COMPLAINT, "queue_waiting", "service_center", "已受理"]
    assert run_import(write_csv(tmp_path / "open.csv", [row]), "--id", "工单编号") == 0
    with session_at(db) as s:
        imported = s.scalar(select(Ticket).where(Ticket.external_id == "HK-9"))
        again = intake(s, RESUBMITTED, now=datetime.now(UTC))
        assert again.duplicate_of == imported.id


def test_dates_and_statuses_as_centres_write_them():
    zone = ZoneInfo("Asia/Shanghai")
    expected = datetime(2026, 11, 2, 1, 30, tzinfo=UTC)
    for text in ("2026-11-02 09:30", "2026/11/2 9:30", "2026年11月2日 9时30分", "2026-11-02T09:30:00+08:00"):
        assert parse_time(text, zone) == expected, text
    assert parse_time("20261102", zone) == datetime(2026, 11, 1, 16, 0, tzinfo=UTC)
    assert parse_time("201712", zone) == datetime(2017, 11, 30, 16, 0, tzinfo=UTC)
    for bad in ("", "昨天", "2026-13-01", "2026-02-30"):
        assert parse_time(bad, zone) is None, bad
    assert parse_status("已办结") == "closed" and parse_status(" Closed ") == "closed"
    assert parse_status("已受理") == "accepted" and parse_status("maybe") is None


def test_worker_processes_prepare_the_same_tickets_in_the_same_order(tmp_path):
    from triage.engine.readers import open_table
    from triage.service import imports

    rows = [
        [f"W{i}", "2026-11-02", "", f"第{i}次反映：{ROWS[i % 2][3]}", "housing", "d", "已办结"]
        for i in range(1200)
    ]
    rows[700][3] = ""
    path = write_csv(tmp_path / "many.csv", rows)
    columns = imports.Columns(
        text="诉求内容", heads={"category": "类别"}, created_at="受理时间", id="工单编号"
    )
    words = Words.load(PROJECT_ROOT / "data")
    preparer = imports._Preparer(columns, imports.DueRule("Asia/Shanghai", {}, 10), NOW, "phone", words)

    def prepared(workers):
        with open_table(path) as table:
            out = list(
                imports._prepared(
                    preparer, imports._chunks(table.rows, lambda: table.row_number, 100), workers
                )
            )
        tickets = [(t["external_id"], t["text_masked"], t["due_at"], *more) for c in out for t, *more in c[0]]
        return tickets, [line for c in out for line in c[1].bad_rows], sum(c[2] for c in out)

    alone, pool = prepared(0), prepared(2)
    assert alone == pool
    assert (
        len(alone[0]) == 1199 and alone[1] == ["row 702: the text (诉求内容) is empty"] and alone[2] == 1200
    )
    assert alone[0][0][-1] == words.stored(alone[0][0][1])  # the words hotspots read, made once
