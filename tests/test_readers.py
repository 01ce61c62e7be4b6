"""open_table: the encodings and formats a centre's exports come in, and the sentences for the rest."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

import pytest
from openpyxl import Workbook

from triage.engine.readers import open_table
from triage.errors import BadInput

HEADER = ["工单编号", "诉求内容", "承办单位"]
ROWS = [["A1", "小区门口路灯坏了", "城市管理局"], ["A2", "社保卡补办要多久", "社会保险事业局"]]


def _csv_bytes(rows: list[list[str]], encoding: str) -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return buf.getvalue().encode(encoding)


@pytest.mark.parametrize(
    ("encoding", "reported"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gbk", "gb18030"), ("gb18030", "gb18030")],
)
def test_csv_encodings_are_detected(tmp_path, encoding, reported):
    path = tmp_path / "orders.csv"
    path.write_bytes(_csv_bytes([HEADER, *ROWS], encoding))
    with open_table(path) as table:
        assert table.encoding == reported
        assert table.columns == HEADER  # no BOM glued to the first name
        rows = list(table.rows)
    assert rows == [dict(zip(HEADER, r, strict=True)) for r in ROWS]


def test_gb18030_only_characters_are_read(tmp_path):
    # 𠀀 (U+20000) has no GBK code: only GB18030's four-byte form holds it.
    path = tmp_path / "rare.csv"
    path.write_bytes(_csv_bytes([HEADER, ["A3", "地址：𠀀村", "乡政府"]], "gb18030"))
    assert next(open_table(path).rows)["诉求内容"] == "地址：𠀀村"


def test_encoding_option_overrides_detection(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_bytes(_csv_bytes([HEADER, *ROWS], "gbk"))
    table = open_table(path, encoding="gbk")
    assert table.encoding == "gbk"
    assert next(table.rows)["承办单位"] == "城市管理局"
    table.close()
    with pytest.raises(BadInput, match="not an encoding"):
        open_table(path, encoding="klingon")


def test_a_file_in_no_known_encoding_names_those_tried(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_bytes("text,label\n路灯,城管\n".encode("utf-16"))
    with pytest.raises(BadInput) as err:
        open_table(path)
    assert "UTF-8" in str(err.value) and "GB18030" in str(err.value) and "--encoding" in str(err.value)


def test_a_bad_byte_after_the_sample_names_the_row(tmp_path, monkeypatch):
    monkeypatch.setattr("triage.engine.readers.SAMPLE_BYTES", 64)
    path = tmp_path / "orders.csv"
    good = _csv_bytes([["text", "label"]] + [["路灯坏了", "城管"]] * 2000, "utf-8")
    path.write_bytes(good + "噪音扰民,环保\n".encode("gbk"))
    table = open_table(path)
    assert table.encoding == "utf-8"
    with pytest.raises(BadInput, match="not valid utf-8 near row"):
        list(table.rows)


def test_rows_stream_and_blank_rows_are_skipped(tmp_path):
    path = tmp_path / "big.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "label"])
        for i in range(5000):
            w.writerow([f" 第{i}条 ", "a"] if i % 100 else ["", ""])
    table = open_table(path)
    first = next(table.rows)
    assert first == {"text": "第1条", "label": "a"}  # stripped; the empty row 0 skipped
    assert table.row_number == 3  # the file's row: header 1, the skipped blank 2
    assert sum(1 for _ in table.rows) == 5000 - 50 - 1
    table.close()


def test_short_rows_are_padded_and_headers_made_unique(tmp_path):
    path = tmp_path / "odd.csv"
    path.write_text("text,text,,label\n只有一格\n", encoding="utf-8")
    table = open_table(path)
    assert table.columns == ["text", "text (2)", "column 3", "label"]
    assert next(table.rows) == {"text": "只有一格", "text (2)": "", "column 3": "", "label": ""}


def _xlsx(path, sheets):
    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        ws = book.create_sheet(name)
        for row in rows:
            ws.append(row)
    book.save(path)
    return path


def test_xlsx_with_chinese_headers_and_typed_cells(tmp_path):
    path = _xlsx(
        tmp_path / "orders.xlsx",
        {
            "工单": [
                [None, None, None, None],  # a blank first row before the header
                ["编号", "诉求内容", "受理时间", "办理天数"],
                [20180101, "  路灯坏了 ", datetime(2018, 1, 5, 9, 30), 3.0],
                [20180102, "噪音", date(2018, 1, 6), 2.5],
                [None, None, None, None],
            ]
        },
    )
    table = open_table(path)
    assert table.encoding == "xlsx" and table.sheet == "工单"
    assert table.columns == ["编号", "诉求内容", "受理时间", "办理天数"]
    assert list(table.rows) == [
        {"编号": "20180101", "诉求内容": "路灯坏了", "受理时间": "2018-01-05 09:30:00", "办理天数": "3"},
        {"编号": "20180102", "诉求内容": "噪音", "受理时间": "2018-01-06", "办理天数": "2.5"},
    ]


def test_xlsx_sheet_by_name_and_unknown_sheet(tmp_path):
    path = _xlsx(tmp_path / "two.xlsx", {"说明": [["只是说明"]], "数据": [["text"], ["路灯"]]})
    assert open_table(path).columns == ["只是说明"]  # the first sheet when none is named
    assert list(open_table(path, sheet="数据").rows) == [{"text": "路灯"}]
    with pytest.raises(BadInput) as err:
        open_table(path, sheet="Sheet1")
    assert "说明, 数据" in str(err.value)


def test_unreadable_files_are_one_sentence(tmp_path):
    with pytest.raises(BadInput, match="does not exist"):
        open_table(tmp_path / "missing.csv")
    fake = tmp_path / "fake.xlsx"
    fake.write_text("not a zip", encoding="utf-8")
    with pytest.raises(BadInput, match=r"not a readable \.xlsx"):
        open_table(fake)
    old = tmp_path / "old.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(BadInput, match=r"save it as \.xlsx or CSV"):
        open_table(old)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(BadInput, match="no header row"):
        open_table(empty)
    csv_path = tmp_path / "a.csv"
    csv_path.write_text("text\n路灯\n", encoding="utf-8")
    with pytest.raises(BadInput, match=r"--sheet applies to \.xlsx"):
        open_table(csv_path, sheet="数据")


def test_require_names_the_columns_the_file_has(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_bytes(_csv_bytes([HEADER, *ROWS], "gb18030"))
    table = open_table(path)
    table.require("诉求内容")
    with pytest.raises(BadInput) as err:
        table.require("内容", "--text")
    assert str(err.value) == (
        "The file orders.csv has no column '内容' (given by --text); "
        "its columns are: 工单编号, 诉求内容, 承办单位."
    )
