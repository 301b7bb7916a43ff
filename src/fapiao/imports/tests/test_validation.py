"""Row by row: what is read, what is refused, and where (row as Excel shows it, column, code)."""

import datetime

import polars as pl
import pytest

from fapiao.imports import fields, reading, validation
from fapiao.imports.tests.builders import CUSTOMER, HEADER, csv_bytes, number, row
from fapiao.rules import uscc

TODAY = datetime.date(2025, 11, 27)


class Org:
    name = "云帆信息技术有限公司"
    tax_id = uscc.make("91110108MA0000001")


def plan(rows, header=HEADER, **context):
    table = reading.read(csv_bytes(rows, header=header))
    mapping = fields.detect(table.headers).mapping
    ctx = validation.Context(tax_id=Org.tax_id, organization_id=7, today=TODAY, **context)
    return validation.build(table, mapping, ctx)


def errors(p) -> list[tuple[int, str, str]]:
    return [
        (r, c, code)
        for r, c, code, w in p.problems.select("row", "column", "code", "is_warning").iter_rows()
        if not w
    ]


def test_a_clean_file_is_all_valid():
    p = plan([row(Org), row(Org)])
    assert p.rows == 2 and p.units["ok"].to_list() == [True, True]
    assert errors(p) == []
    unit = p.units.row(0, named=True)
    assert (unit["amount"], unit["tax"], unit["total"]) == (100000, 6000, 106000)
    assert unit["seller_org_id"] == 7 and unit["buyer_org_id"] is None
    assert unit["type_code"] == "32" and unit["code"] == ""


FULL_WIDTH_NUMBER = "25112000000000012345".translate(
    {ord(d): 0xFF10 + int(d) for d in "0123456789"}
)


def test_full_width_digits_letters_and_money_signs_are_read():
    p = plan(
        [
            row(
                Org,
                发票号码=FULL_WIDTH_NUMBER,
                销售方纳税人识别号=Org.tax_id.lower().replace("9", "９"),
                金额="￥ 1,000.00",
                税额="¥60",
                价税合计=" 1 060.00 元",
                税率="６％",
            )
        ]
    )
    assert errors(p) == []
    unit = p.units.row(0, named=True)
    assert unit["number"] == "25112000000000012345"
    assert unit["seller_tax_id"] == Org.tax_id
    assert (unit["amount"], unit["tax"], unit["total"]) == (100000, 6000, 106000)


@pytest.mark.parametrize(
    "text",
    ["2025-05-30", "2025/5/30", "2025年5月30日", "20250530", "45807", "2025-05-30 10:11:12",
     "２０２５年５月３０日", "2025.5.30"],
)  # fmt: skip
def test_dates_in_every_usual_form(text):
    p = plan([row(Org, 开票日期=text)])
    assert errors(p) == []
    assert p.units["issue_date"][0] == datetime.date(2025, 5, 30)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("13%", "0.13"), ("0.13", "0.13"), ("13", "0.13"), ("1.5%", "0.015"), ("免税", "0")],
)
def test_rates_as_percent_fraction_or_number(text, expected):
    tax = "0.00" if text == "免税" else None
    amount = {"0.13": "1000.00", "0.015": "1000.00", "0": "1000.00"}[expected]
    tax = tax or {"0.13": "130.00", "0.015": "15.00"}[expected]
    total = f"{float(amount) + float(tax):.2f}"
    p = plan([row(Org, 税率=text, 金额=amount, 税额=tax, 价税合计=total)])
    assert errors(p) == []
    assert str(p.lines["rate"][0]).rstrip("0").rstrip(".") == expected.rstrip("0").rstrip(".")


def test_missing_amounts_are_derived_as_the_rules_do():
    header = ["发票类型", "发票号码", "开票日期", "销售方名称", "销售方纳税人识别号", "购买方名称",
              "项目名称", "价税合计", "税率"]  # fmt: skip
    p = plan([row(Org, 价税合计="113.00", 税率="13%", _header=header)], header=header)
    assert errors(p) == [], p.problems
    unit = p.units.row(0, named=True)
    assert (unit["amount"], unit["tax"]) == (10000, 1300)


def test_each_error_is_reported_with_its_row_and_column():
    rows = [
        row(Org),  # row 2: fine
        row(Org, 销售方纳税人识别号="91110108MA0000001"),  # 3: 17 characters
        row(Org, 发票号码="2511200000000000001"),  # 4: 19 digits
        row(Org, 税额="70.00", 价税合计="1070.00"),  # 5: tax ≠ amount × rate
        row(Org, 价税合计="1061.00"),  # 6: total ≠ amount + tax
        row(Org, 开票日期="2025-12-01"),  # 7: after TODAY
        row(Org, 销售方纳税人识别号=CUSTOMER, 购买方纳税人识别号=CUSTOMER),  # 8: not ours
        row(Org, 金额="1000.001"),  # 9: three decimals
        row(Org, 开票日期="去年"),  # 10: no date
        row(Org, 税率="7%", 税额="70.00", 价税合计="1070.00"),  # 11: no such rate
        row(Org, 发票类型="收据"),  # 12: no such type
        row(Org, 购买方名称=""),  # 13: missing
        row(Org, 金额="一千"),  # 14: not a number
    ]
    found = errors(plan(rows))
    expected = {
        (3, "销售方纳税人识别号", "uscc_length"),
        (4, "发票号码", "number_length"),
        (5, "税额", "tax_mismatch"),
        (6, "价税合计", "total_mismatch"),
        (7, "开票日期", "date_future"),
        (8, "销售方纳税人识别号", "not_own_invoice"),
        (9, "金额", "precision"),
        (10, "开票日期", "date_invalid"),
        (11, "税率", "rate_unknown"),
        (12, "发票类型", "type_unknown"),
        (13, "购买方名称", "value_missing"),
        (14, "金额", "amount_invalid"),
    }
    assert expected <= set(found), sorted(set(found))
    assert not [f for f in found if f[0] == 2]


def test_a_bad_number_is_explained_by_the_rules():
    p = plan([row(Org, 发票号码="O5112000000000000001")])
    (message,) = p.problems.filter(pl_code("number_letter"))["message"].to_list()
    assert ("字母" in message and "05112000000000000001" not in message) or "可能是" in message


def pl_code(code):
    import polars as pl

    return pl.col("code") == code


def test_a_failed_check_character_is_a_warning_and_the_row_is_imported():
    bad_check = CUSTOMER[:-1] + ("0" if CUSTOMER[-1] != "0" else "1")
    p = plan([row(Org, 购买方纳税人识别号=bad_check)])
    assert errors(p) == []
    assert p.units["ok"].to_list() == [True]
    warning = p.problems.filter(pl_code("uscc_checksum")).row(0, named=True)
    assert (
        warning["is_warning"] and warning["row"] == 2 and warning["column"] == "购买方纳税人识别号"
    )


def test_rows_of_one_invoice_are_its_lines_and_the_header_is_their_sum():
    n = number()
    rows = [
        row(Org, 发票号码=n, 项目名称="*a*甲", 金额="100.00", 税率="13%", 税额="13.00",
            价税合计="113.00"),
        row(Org, 发票号码=number()),
        row(Org, 发票号码=n, 项目名称="*b*乙", 金额="200.00", 税率="6%", 税额="12.00",
            价税合计="212.00"),
    ]  # fmt: skip
    p = plan(rows)
    assert errors(p) == []
    assert p.invoices == 2
    first = p.units.row(0, named=True)
    assert first["n_rows"] == 2 and (first["amount"], first["tax"], first["total"]) == (
        30000,
        2500,
        32500,
    )
    lines = p.lines.filter(pl_code_inv(0))
    assert lines["position"].to_list() == [1, 2] and lines["row"].to_list() == [2, 4]


def pl_code_inv(inv):
    import polars as pl

    return pl.col("inv") == inv


def test_a_repeated_invoice_total_on_each_line_is_accepted():
    n = number()
    rows = [
        row(Org, 发票号码=n, 金额="100.00", 税额="6.00", 价税合计="318.00"),
        row(Org, 发票号码=n, 金额="200.00", 税额="12.00", 价税合计="318.00"),
    ]
    assert errors(plan(rows)) == []


def test_lines_that_disagree_on_the_invoice_reject_the_whole_invoice():
    n = number()
    rows = [row(Org, 发票号码=n), row(Org, 发票号码=n, 开票日期="2025-05-31")]
    p = plan(rows)
    assert (3, "开票日期", "rows_disagree") in errors(p)
    assert (2, "发票号码", "invoice_rejected") in errors(p)
    assert p.units["ok"].to_list() == [False]


def test_without_item_column_a_repeated_row_is_a_duplicate_or_a_conflict():
    header = [h for h in HEADER if h not in ("项目名称", "税率")]
    same, other = number(), number()
    rows = [
        row(Org, 发票号码=same, _header=header),
        row(Org, 发票号码=same, _header=header),
        row(Org, 发票号码=other, _header=header),
        row(Org, 发票号码=other, 金额="999.00", 价税合计="1059.00", _header=header),
    ]
    p = plan(rows, header=header)
    first, second = p.units.rows(named=True)
    assert first["ok"] and first["n_dup_rows"] == 1
    assert not second["ok"]
    assert {(4, "duplicate_in_file_conflict"), (5, "duplicate_in_file_conflict")} <= {
        (r, c) for r, _, c in errors(p)
    }
    assert p.lines.height == 0  # no item and no rate column: invoices without lines


def test_a_legacy_invoice_without_type_gets_the_type_its_code_hints():
    p = plan([row(Org, 发票类型="", 发票号码="01234567")], header=HEADER)
    assert "code_missing" in {c for _, _, c in errors(p)}
    header = ["发票代码", *HEADER]
    p = plan([["011001900111", *row(Org, 发票类型="", 发票号码="01234567")]], header=header)
    assert errors(p) == []
    assert p.units["type_code"][0] == "10" and p.units["code"][0] == "011001900111"


def test_a_digital_invoice_without_type_needs_one():
    p = plan([row(Org, 发票类型="")])
    assert (2, "发票类型", "type_missing") in errors(p)
    assert errors(plan([row(Org, 发票类型="")], default_type="31")) == []


def test_the_buyer_side_is_recognised():
    p = plan([row(Org, 销售方名称="供应商有限公司", 销售方纳税人识别号=CUSTOMER,
                  购买方名称=Org.name, 购买方纳税人识别号=Org.tax_id)])  # fmt: skip
    unit = p.units.row(0, named=True)
    assert unit["buyer_org_id"] == 7 and unit["seller_org_id"] is None


def test_counterparties_on_the_platform_are_linked():
    p = plan([row(Org)], organizations=lambda ids: {CUSTOMER: 99} if CUSTOMER in ids else {})
    assert p.units["buyer_org_id"][0] == 99


def test_red_invoices_are_negative():
    p = plan([row(Org, 金额="-1000.00", 税额="-60.00", 价税合计="-1060.00")])
    assert errors(p) == [] and p.units["is_red"][0]
    p = plan([
        row(Org, 发票号码=(n := number()), 金额="-1000.00", 税额="-60.00", 价税合计="-1060.00"),
        row(Org, 发票号码=n, 金额="10.00", 税额="0.60", 价税合计="10.60"),
    ])  # fmt: skip
    assert (3, "金额", "sign") in errors(p)


def test_quantity_times_unit_price_is_checked_in_decimal_to_the_tolerance():
    header = [*HEADER, "数量", "单价"]
    # 3 × 0.1 is 0.30 exactly (a float makes it 0.30000000000000004); 1.005 × 10 = 10.05.
    on_the_edge = [
        row(Org, 金额="0.31", 税额="0.02", 价税合计="0.33", 数量="3", 单价="0.1", _header=header),
        row(Org, 金额="10.04", 税额="0.60", 价税合计="10.64", 数量="1.005", 单价="10",
            _header=header),
    ]  # fmt: skip
    off = row(Org, 金额="10.03", 税额="0.60", 价税合计="10.63", 数量="1.005", 单价="10",
              _header=header)  # fmt: skip
    p = plan([*on_the_edge, off], header=header)
    assert errors(p) == [(4, "金额", "amount_mismatch")]
    message = p.problems.filter(pl.col("row") == 4)["message"][0]
    assert message == "数量×单价 = 10.05，与金额 10.03 相差超过 ±0.01"


def test_problems_carry_the_rows_invoice_number_and_code_as_read():
    legacy = ["发票代码", *HEADER]
    n = number()
    rows = [
        ["", *row(Org, 发票号码=FULL_WIDTH_NUMBER, 税额="1.00")],  # read: full-width → ASCII
        ["011001900111", *row(Org, 发票类型="", 发票号码="01234567", 税额="1.00")],
        ["", *row(Org, 发票号码="２５１１２ 0000o", 税额="1.00")],  # unreadable: the text
        ["", *row(Org, 发票号码="", 税额="1.00")],
        ["", *row(Org, 发票号码=n)],
        ["", *row(Org, 发票号码=n, 开票日期="2025-05-31")],
    ]
    p = plan(rows, header=legacy)
    found = {
        (r, code): (number_, invoice_code)
        for r, code, number_, invoice_code in p.problems.select(
            "row", "code", "invoice_number", "invoice_code"
        ).iter_rows()
    }
    assert found[(2, "tax_mismatch")] == ("25112000000000012345", "")
    assert found[(3, "tax_mismatch")] == ("01234567", "011001900111")
    assert found[(4, "tax_mismatch")] == ("251120000o", "")
    assert found[(5, "tax_mismatch")] == ("", "")
    # Every row of a rejected invoice, the row without an error of its own too.
    assert found[(6, "invoice_rejected")] == (n, "") and found[(7, "rows_disagree")] == (n, "")
