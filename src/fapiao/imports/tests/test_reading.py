"""Files as users have them: encodings, header styles, title rows, XLSX with either reader."""

import datetime

import pytest

from fapiao.imports import fields, reading
from fapiao.imports.tests.builders import HEADER, csv_bytes, xlsx_bytes


class _Org:
    name = "云帆信息技术有限公司"
    tax_id = "91110108MA0000001D"


def _rows():
    from fapiao.imports.tests.builders import row

    return [row(_Org, 购买方名称="北京㐀华科技有限公司"), row(_Org)]


@pytest.mark.parametrize(
    ("encode", "label"),
    [
        (lambda t: t.encode("utf-8"), "UTF-8"),
        (lambda t: "\ufeff".encode() + t.encode("utf-8"), "UTF-8-BOM"),
        (lambda t: t.replace("㐀", "国").encode("gbk"), "GBK"),
        (lambda t: t.encode("gb18030"), "GB18030"),
        (lambda t: t.encode("utf-16"), "UTF-16"),
    ],
)
def test_it_detects_the_encoding_without_asking(encode, label):
    text = csv_bytes(_rows()).decode("utf-8")
    table = reading.read(encode(text))
    assert table.encoding == label
    assert table.headers == HEADER
    assert table.frame.height == 2
    assert table.frame["__row"].to_list() == [2, 3]
    assert table.frame["c5"][0].startswith("北京")


def test_it_reads_tab_and_semicolon_separated_files():
    text = csv_bytes(_rows()).decode("utf-8")
    for separator in ("\t", ";"):
        table = reading.read(text.replace(",", separator).encode("utf-8"))
        assert table.headers == HEADER and table.frame.height == 2


def test_title_rows_above_the_header_keep_excel_row_numbers():
    body = "2025 年发票清单\n\n" + csv_bytes(_rows()).decode("utf-8")
    table = reading.read(body.encode("gbk", errors="replace"))
    assert table.header_row == 3
    assert table.frame["__row"].to_list() == [4, 5]


def test_blank_and_multiline_rows_keep_their_excel_row_numbers():
    header = ",".join(HEADER)
    data = f'{header}\n1,a\n\n"x\ny",b\n2,c\n'.encode()
    table = reading.read(data)
    assert table.frame["__row"].to_list() == [2, 3, 4, 5]
    assert table.frame["c0"].to_list() == ["1", None, "x\ny", "2"]


def test_english_and_synonym_headers_are_recognised():
    detection = fields.detect(
        [
            "Invoice No",
            "Date",
            "Seller",
            "销方税号",
            "购方名称",
            "Amount",
            "Tax",
            "价税合计（小写）",
        ]
    )
    assert detection.mapping == {
        "number": "Invoice No",
        "issue_date": "Date",
        "seller_name": "Seller",
        "seller_tax_id": "销方税号",
        "buyer_name": "购方名称",
        "amount": "Amount",
        "tax": "Tax",
        "total": "价税合计（小写）",
    }
    assert detection.clear


def test_a_missing_or_doubled_column_is_unclear():
    missing = fields.detect(["发票号码", "开票日期", "销售方名称", "购买方名称", "金额"])
    assert not missing.clear
    assert "销售方纳税人识别号" in missing.missing_required()
    doubled = fields.detect(["金额", "合计金额"])
    assert doubled.ambiguous == {"amount": ["金额", "合计金额"]}


@pytest.mark.parametrize("calamine", [True, False])
def test_xlsx_is_read_with_either_reader(monkeypatch, calamine):
    monkeypatch.setattr(reading, "USE_CALAMINE", calamine)
    data = xlsx_bytes(_rows())
    table = reading.read(data)
    assert table.file_format == "xlsx"
    assert table.headers == HEADER
    assert table.frame["__row"].to_list() == [2, 3]
    assert table.frame["c8"].to_list() == ["1000", "1000"]  # 金额, a number cell
    assert table.frame["c1"][0].startswith("2511")  # the number, a text cell


@pytest.mark.parametrize("calamine", [True, False])
def test_xlsx_date_cells_arrive_readable(monkeypatch, calamine):
    import io

    import xlsxwriter

    monkeypatch.setattr(reading, "USE_CALAMINE", calamine)
    output = io.BytesIO()
    book = xlsxwriter.Workbook(output, {"in_memory": True})
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, ["开票日期", "发票号码"])
    sheet.write_datetime(
        1, 0, datetime.datetime(2025, 5, 30), book.add_format({"num_format": "yyyy-mm-dd"})
    )
    sheet.write_string(1, 1, "x")
    book.close()
    value = reading.read(output.getvalue()).frame["c0"][0]
    assert value in ("2025-05-30 00:00:00", "45807")  # calamine: a datetime; built-in: the serial


def test_unreadable_files_are_refused_with_a_reason():
    with pytest.raises(reading.FileError) as empty:
        reading.read(b"  \n")
    assert empty.value.code == "file_empty"
    with pytest.raises(reading.FileError) as broken:
        reading.read(b"PK\x03\x04not really a zip")
    assert broken.value.code == "file_unreadable"


def test_a_quote_that_never_closes_is_named_by_its_line():
    data = (
        "发票号码,开票日期,价税合计\n"
        '26112000000000889709,2026-10-02,"412.45\n'
        "26112000000000889710,2026-10-09,45035.69\n"
    ).encode()
    with pytest.raises(reading.FileError) as refused:
        reading.read(data, "台账.csv")
    assert refused.value.code == "unbalanced_quote"
    assert refused.value.message.startswith("第 2 行的引号没有配对")
    # A quoted cell that does close, with a comma and a line break inside, is read as one cell.
    good = '发票号码,备注\n26112000000000889709,"含逗号, 和\n换行"\n'.encode()
    table = reading.read(good, "ok.csv")
    assert table.frame["c1"].to_list() == ["含逗号, 和\n换行"]
