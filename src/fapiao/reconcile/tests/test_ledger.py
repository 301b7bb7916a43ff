"""Reading a ledger: the import's tolerant reader, a ledger's own columns, and clear messages."""

import datetime as dt

import pytest

from fapiao.reconcile import ledger
from fapiao.reconcile.tests.builders import csv_bytes, xlsx_bytes

TODAY = dt.date(2026, 1, 1)
N = "25112000000000001234"


def read(data: bytes, name: str = "台账.csv"):
    return ledger.read(data, name, today=TODAY)


def test_a_gbk_ledger_with_chinese_headers_symbols_and_date_forms_is_read():
    rows = [
        {"发票号码": N, "开票日期": "2025年5月3日", "客户名称": "上海明德", "金额": "￥1,000.00",
         "税额": "60", "价税合计": "1,060.00"},
        {"发票号码": "２５１１２０００００００００００１２３５", "开票日期": "20250504",
         "价税合计": "5"},
    ]  # fmt: skip
    parsed = read(csv_bytes(rows, encoding="gbk"))
    frame = parsed.frame.to_dicts()
    assert [r["row"] for r in frame] == [2, 3]
    assert frame[0]["number"] == N and frame[1]["number"] == "25112000000000001235"
    assert frame[0]["issue_date"] == dt.date(2025, 5, 3)
    assert frame[1]["issue_date"] == dt.date(2025, 5, 4)
    assert (frame[0]["amount"], frame[0]["tax"], frame[0]["total"]) == (100000, 6000, 106000)
    assert frame[0]["counterparty_name"] == "上海明德"
    assert parsed.encoding == "GBK" and not parsed.problems


def test_iso_dates_and_other_forms_mixed_in_one_column_are_each_read():
    forms = ["2025-05-03", "2025/5/4", "2025-05-32", "1989-12-31", "45782", "2025-5-6"]
    rows = [{"发票号码": f"2511200000000000{i:04d}", "开票日期": d} for i, d in enumerate(forms)]
    parsed = read(csv_bytes(rows))
    dates = [r["issue_date"] for r in parsed.frame.to_dicts()]
    assert dates == [dt.date(2025, 5, 3), dt.date(2025, 5, 4), None, None,
                     dt.date(2025, 5, 5), dt.date(2025, 5, 6)]  # fmt: skip
    assert [(p.row, p.code) for p in parsed.problems] == [(4, "date_invalid"), (5, "date_invalid")]


def test_english_headers_and_an_xlsx_with_numeric_cells_are_read():
    header = ["Invoice No", "Invoice Date", "Customer", "Total"]
    rows = [{"Invoice No": N, "Invoice Date": "2025-05-03", "Customer": "A", "Total": "1060.5"}]
    parsed = read(xlsx_bytes(rows, header=header), "ledger.xlsx")
    (record,) = parsed.frame.to_dicts()
    assert record["total"] == 106050 and record["counterparty_name"] == "A"
    assert parsed.file_format == "xlsx"


def test_a_ledger_without_a_number_column_names_what_is_missing():
    data = csv_bytes([{"开票日期": "2025-05-03"}], header=["开票日期", "价税合计"])
    with pytest.raises(ledger.LedgerError) as refused:
        read(data)
    assert refused.value.code == "column_missing"
    assert "发票号码" in refused.value.message and "开票日期、价税合计" in refused.value.message


def test_unreadable_values_are_problems_naming_row_and_column_and_the_row_still_counts():
    rows = [
        {"发票号码": N, "开票日期": "2025-13-45", "价税合计": "abc"},
        {"发票号码": "25112000000000001299", "金额": "1.001"},
    ]
    parsed = read(csv_bytes(rows))
    messages = {(p.row, p.column): p.message for p in parsed.problems}
    assert "无法识别的日期“2025-13-45”" in messages[(2, "开票日期")]
    assert messages[(2, "价税合计")] == "无法识别的金额“abc”"
    assert messages[(3, "金额")] == "金额“1.001”超过两位小数"
    assert parsed.frame.height == 2
    assert parsed.frame.to_dicts()[0]["total"] is None


def test_a_number_excel_stored_as_a_number_is_refused_with_the_reason():
    parsed = read(csv_bytes([{"发票号码": "2.51120000000001E+19"}, {"发票号码": N}]))
    (problem,) = parsed.problems
    assert (problem.row, problem.column) == (2, "发票号码")
    assert "Excel 存成了数值" in problem.message
    assert parsed.frame["row"].to_list() == [3]


def test_a_total_row_without_a_number_is_skipped_with_a_note():
    parsed = read(csv_bytes([{"发票号码": N, "价税合计": "1"}, {"序号": "合计", "价税合计": "1"}]))
    assert parsed.frame["row"].to_list() == [2]
    assert parsed.problems[0].row == 3 and "没有发票号码" in parsed.problems[0].message


def test_a_legacy_number_that_lost_its_leading_zeros_gets_them_back():
    parsed = read(csv_bytes([{"发票代码": "011001900104", "发票号码": "1234"}]))
    assert parsed.frame["number"].to_list() == ["00001234"]


def test_lookalike_letters_are_kept_to_be_reported_as_typos():
    parsed = read(csv_bytes([{"发票号码": "251I20000000000O1234"}]))
    assert parsed.frame["number"].to_list() == ["251I20000000000O1234"]


def test_two_columns_naming_the_number_are_ambiguous():
    detection = ledger.detect(["发票号码", "号码", "价税合计"])
    assert detection.ambiguous == {"number": ["发票号码", "号码"]}
    assert not detection.clear
    with pytest.raises(ledger.LedgerError) as refused:
        read(csv_bytes([{"发票号码": N, "号码": N}], header=["发票号码", "号码"]))
    assert refused.value.code == "column_ambiguous"


def test_counterparty_columns_have_ledger_synonyms():
    detection = ledger.detect(["发票号码", "往来单位", "对方税号", "供应商"])
    assert detection.mapping["counterparty_tax_id"] == "对方税号"
    assert detection.ambiguous == {"counterparty_name": ["往来单位", "供应商"]}


def test_a_csv_the_reader_cannot_parse_is_refused_naming_the_unpaired_quote():
    data = f'发票号码,备注\r\n{N},"两行\r\n的备注"\r\n{N},"没有结尾\r\n{N},x\r\n'.encode()
    with pytest.raises(ledger.LedgerError) as refused:
        read(data)
    assert refused.value.code == "unbalanced_quote"
    assert refused.value.message.startswith("第 4 行的引号没有配对")
