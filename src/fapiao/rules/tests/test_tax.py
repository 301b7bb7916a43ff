from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from fapiao.rules import tax
from fapiao.rules.problems import ProblemCode, RulesError
from fapiao.rules.tax import LineCalc, TaxExemption

D = Decimal


def codes(problems):
    return [p.code for p in problems]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("13%", "0.13"),
        ("0.13", "0.13"),
        ("13", "0.13"),
        ("0.130", "0.13"),
        ("１３％", "0.13"),
        (" 9 % ", "0.09"),
        ("1.5%", "0.015"),
        ("0.015", "0.015"),
        ("3", "0.03"),
        ("0", "0"),
        ("0%", "0"),
        (D("0.06"), "0.06"),
        (5, "0.05"),
    ],
)
def test_parse_rate_reads_every_spelling(text, expected):
    assert tax.parse_rate(text) == D(expected)


@pytest.mark.parametrize("text", ["abc", "-3%", "100%", "150", "0.12345", "", "免税"])
def test_parse_rate_refuses_nonsense(text):
    with pytest.raises(RulesError) as caught:
        tax.parse_rate(text)
    assert caught.value.problem.code == ProblemCode.RATE_INVALID


def test_parse_rate_or_exemption_reads_the_printed_words():
    assert tax.parse_rate_or_exemption("免税") == (D(0), TaxExemption.EXEMPT)
    assert tax.parse_rate_or_exemption("不征税") == (D(0), TaxExemption.NOT_TAXABLE)
    assert tax.parse_rate_or_exemption("6%") == (D("0.06"), TaxExemption.NONE)


def test_rates_are_decimals_with_chinese_names():
    values = {r.value for r in tax.RATES}
    assert values == {D(v) for v in ("0.13", "0.09", "0.06", "0", "0.05", "0.03", "0.015", "0.01")}
    for rate in (*tax.RATES, *tax.HISTORIC_RATES):
        assert isinstance(rate.value, Decimal)
        assert "%" in rate.name and any("\u4e00" <= ch <= "\u9fff" for ch in rate.name)
    assert tax.rate_for(D("0.015")).kind is tax.RateKind.LEVY
    assert tax.rate_for(D("0.13")).label == "13%"
    assert tax.rate_for(D("0.17")).current is False


def test_rate_label_prints_exemptions_instead_of_rates():
    assert tax.rate_label(D("0.13")) == "13%"
    assert tax.rate_label(D("0.015")) == "1.5%"
    assert tax.rate_label(D(0), TaxExemption.EXEMPT) == "免税"
    assert tax.rate_label(D(0), TaxExemption.NOT_TAXABLE) == "不征税"
    assert tax.rate_label(D(0), TaxExemption.EXPORT_ZERO) == "0%"


def test_line_from_exclusive_rounds_half_up():
    line = tax.line_from_exclusive("3", "33.335", "13%")
    assert line.amount == D("100.01")  # 100.005 → 100.01
    assert line.tax == D("13.00")
    assert line.total == D("113.01")
    assert tax.check_line(line) == []


def test_line_from_exclusive_with_given_amount_derives_unit_price():
    line = tax.line_from_exclusive("3", None, "6%", amount="100")
    assert line.amount == D("100.00")
    assert line.unit_price == D("33.3333333333333")
    assert tax.check_line(line) == []


def test_line_from_inclusive_splits_the_total():
    line = tax.line_from_inclusive("101", None, "1%", total="2150.63")
    assert (line.amount, line.tax, line.total) == (D("2129.34"), D("21.29"), D("2150.63"))
    assert line.unit_price == D("21.0825742574257")
    assert tax.check_line(line) == []


def test_line_from_inclusive_from_unit_price():
    line = tax.line_from_inclusive("2", "56.5", "13%")
    assert (line.amount, line.tax, line.total) == (D("100.00"), D("13.00"), D("113.00"))
    assert line.unit_price == D("50.00")


def test_unit_price_keeps_fifteen_significant_digits_and_at_least_two_decimals():
    assert tax.unit_price_from(D("2129.34"), D("1")) == D("2129.34")
    assert str(tax.unit_price_from(D("100.00"), D("4"))) == "25.00"
    assert str(tax.unit_price_from(D("1.00"), D("3"))) == "0.3333333333333"
    assert str(tax.unit_price_from(D("20000000.00"), D("3"))) == "6666666.66666667"


def test_exempt_line_has_zero_tax_and_prints_exempt():
    line = tax.line_from_exclusive("1", "100", "0", exemption=TaxExemption.EXEMPT)
    assert line.tax == D("0.00") and line.rate_label == "免税"
    assert tax.check_line(line) == []
    with pytest.raises(RulesError) as caught:
        tax.line_from_exclusive("1", "100", "13%", exemption=TaxExemption.EXEMPT)
    assert caught.value.problem.code == ProblemCode.EXEMPTION_RATE


def test_line_builders_need_enough_inputs_and_refuse_float():
    with pytest.raises(RulesError):
        tax.line_from_exclusive(None, "1", "13%")
    with pytest.raises(RulesError):
        tax.line_from_inclusive("1", None, "13%")
    with pytest.raises(RulesError):
        tax.line_from_exclusive("1", "1", "13%", amount="1.005")
    with pytest.raises(TypeError):
        tax.line_from_exclusive(1.0, "1", "13%")  # type: ignore[arg-type]


def test_check_line_tax_tolerance_is_six_cents():
    base = {"quantity": None, "unit_price": None, "amount": D("100.00"), "rate": D("0.13")}
    assert tax.check_line(LineCalc(**base, tax=D("13.06"), total=None)) == []
    assert tax.check_line(LineCalc(**base, tax=D("12.94"), total=None)) == []
    problems = tax.check_line(LineCalc(**base, tax=D("13.07"), total=None), index=2)
    assert codes(problems) == [ProblemCode.TAX_MISMATCH]
    assert problems[0].field == "lines[2].tax"
    assert "第 3 行" in problems[0].message and "13.00" in problems[0].message


def test_check_line_price_times_quantity_tolerance_is_one_cent():
    ok = LineCalc(D("3"), D("33.33"), D("100.00"), D("0.13"), D("13.00"), D("113.00"))
    assert tax.check_line(ok) == []
    off = LineCalc(D("3"), D("33.33"), D("100.01"), D("0.13"), D("13.00"), D("113.01"))
    assert codes(tax.check_line(off)) == [ProblemCode.AMOUNT_MISMATCH]


def test_check_line_total_must_be_amount_plus_tax():
    line = LineCalc(None, None, D("100.00"), D("0.13"), D("13.00"), D("113.01"))
    assert codes(tax.check_line(line, index=0)) == [ProblemCode.TOTAL_MISMATCH]


def test_check_line_rate_must_be_known():
    line = LineCalc(None, None, D("100.00"), D("0.07"), D("7.00"), None)
    assert codes(tax.check_line(line)) == [ProblemCode.RATE_UNKNOWN]
    old = LineCalc(None, None, D("100.00"), D("0.16"), D("16.00"), None)
    assert codes(tax.check_line(old)) == [ProblemCode.RATE_UNKNOWN]
    assert tax.check_line(old, allow_historic=True) == []


def test_check_line_exempt_and_zero_rate_have_no_tax():
    exempt = LineCalc(None, None, D("100.00"), D("0"), D("1.00"), None, TaxExemption.EXEMPT)
    assert codes(tax.check_line(exempt)) == [ProblemCode.TAX_NOT_ZERO]
    not_taxable = LineCalc(
        None, None, D("100.00"), D("0.06"), D("0"), None, TaxExemption.NOT_TAXABLE
    )
    assert codes(tax.check_line(not_taxable)) == [ProblemCode.EXEMPTION_RATE]


def test_check_line_precision_is_two_decimals():
    line = LineCalc(None, None, D("100.001"), D("0.13"), D("13.00"), None)
    assert ProblemCode.PRECISION in codes(tax.check_line(line))


def test_check_line_signs_for_blue_red_and_discount_lines():
    red = tax.line_from_exclusive("-2", "50", "13%")
    assert red.amount == D("-100.00") and red.tax == D("-13.00")
    assert tax.check_line(red, red=True) == []
    assert codes(tax.check_line(red)) == [ProblemCode.SIGN]
    assert tax.check_line(red, discount=True) == []
    blue = tax.line_from_exclusive("2", "50", "13%")
    assert codes(tax.check_line(blue, red=True)) == [ProblemCode.SIGN]
    mixed = LineCalc(D("2"), D("50"), D("-100.00"), D("0.13"), D("13.00"), None)
    assert set(codes(tax.check_line(mixed, red=True))) == {
        ProblemCode.SIGN,
        ProblemCode.AMOUNT_MISMATCH,
        ProblemCode.TAX_MISMATCH,
    }


def test_invoice_totals_sum_the_lines():
    lines = [tax.line_from_exclusive("1", "100", "13%"), tax.line_from_exclusive("1", "50", "6%")]
    assert tax.invoice_totals(lines) == tax.Totals(D("150.00"), D("16.00"), D("166.00"))


def test_check_invoice_accepts_a_consistent_mixed_rate_invoice_with_discount():
    lines = [
        tax.line_from_exclusive("1", "100", "13%"),
        tax.line_from_exclusive(None, None, "13%", amount="-10"),
        tax.line_from_exclusive("1", "50", "6%"),
        tax.line_from_exclusive(None, None, "0", amount="20", exemption=TaxExemption.EXEMPT),
    ]
    assert tax.check_invoice(lines, "160.00", "14.70", "174.70") == []


def test_check_invoice_header_totals_must_match():
    lines = [tax.line_from_exclusive("1", "100", "13%")]
    problems = tax.check_invoice(lines, "101.00", "13.00", "113.00")
    assert codes(problems) == [ProblemCode.HEADER_AMOUNT, ProblemCode.HEADER_TOTAL]
    assert [p.field for p in problems] == ["amount", "total"]
    assert codes(tax.check_invoice(lines, total="113.01")) == [ProblemCode.HEADER_TOTAL]
    assert codes(tax.check_invoice(lines, tax="13.01")) == [ProblemCode.HEADER_TAX]


def test_check_invoice_discount_may_not_exceed_its_line():
    lines = [
        tax.line_from_exclusive("1", "100", "13%"),
        tax.line_from_exclusive(None, None, "13%", amount="-100.01"),
    ]
    assert ProblemCode.DISCOUNT_EXCEEDS in codes(tax.check_invoice(lines))


def test_check_invoice_negative_first_line_on_blue_invoice_is_a_sign_error():
    lines = [tax.line_from_exclusive("-1", "100", "13%")]
    assert codes(tax.check_invoice(lines)) == [ProblemCode.SIGN]
    assert tax.check_invoice(lines, red=True) == []


def test_check_invoice_accumulated_tax_difference_limit():
    # each line is off by 0.05 (within ±0.06), 26 lines drift by 1.30 > 1.27
    line = LineCalc(None, None, D("100.00"), D("0.13"), D("13.05"), None)
    assert tax.check_invoice([line] * 25) == []
    problems = tax.check_invoice([line] * 26)
    assert codes(problems) == [ProblemCode.TAX_ACCUMULATED]
    assert "1.30" in problems[0].message


def test_check_invoice_needs_lines():
    assert codes(tax.check_invoice([])) == [ProblemCode.NO_LINES]


def test_real_mixed_totals_are_consistent():
    # 贵州 电子专票 052002100113/00008006: header 24519.05 + 735.57 = 25254.62 (3% levy)
    line = LineCalc(None, None, D("24519.05"), D("0.03"), D("735.57"), D("25254.62"))
    assert tax.check_invoice([line], "24519.05", "735.57", "25254.62") == []


_rates = st.sampled_from([r.value for r in tax.RATES])
_quantities = st.decimals(min_value=D("0.001"), max_value=D("100000"), places=3)
_prices = st.decimals(min_value=D("0.01"), max_value=D("1000000"), places=4)
_totals = st.decimals(min_value=D("0.01"), max_value=D("999999999.99"), places=2)


@settings(max_examples=200, deadline=None)
@given(_quantities, _prices, _rates, st.booleans())
def test_line_from_exclusive_always_passes_check_line(quantity, price, rate, red):
    q = -quantity if red else quantity
    line = tax.line_from_exclusive(q, price, rate)
    assume(line.amount != 0)
    assert tax.check_line(line, red=red) == []


@settings(max_examples=200, deadline=None)
@given(_quantities, _totals, _rates, st.booleans())
def test_line_from_inclusive_always_passes_check_line(quantity, total, rate, red):
    sign = -1 if red else 1
    line = tax.line_from_inclusive(sign * quantity, None, rate, total=sign * total)
    assert tax.check_line(line, red=red) == []
    assert line.amount + line.tax == line.total


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_quantities, _prices, _rates), min_size=1, max_size=40))
def test_invoices_built_from_lines_always_pass_check_invoice(specs):
    lines = [tax.line_from_exclusive(q, p, r) for q, p, r in specs]
    assume(all(line.amount > 0 for line in lines))
    totals = tax.invoice_totals(lines)
    assert tax.check_invoice(lines, totals.amount, totals.tax, totals.total) == []
