from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fapiao.rules import rmb
from fapiao.rules.problems import ProblemCode, RulesError


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("250", "贰佰伍拾圆整"),
        ("20670.00", "贰万零陆佰柒拾圆整"),
        ("53.4", "伍拾叁圆肆角"),
        ("2150.63", "贰仟壹佰伍拾圆陆角叁分"),
        ("21800", "贰万壹仟捌佰圆整"),
        ("25254.62", "贰万伍仟贰佰伍拾肆圆陆角贰分"),
        ("100000", "壹拾万圆整"),
        ("10.05", "壹拾圆零伍分"),
        ("1000000.01", "壹佰万圆零壹分"),
        ("100010000", "壹亿零壹万圆整"),
        ("0", "零圆整"),
        ("0.05", "伍分"),
        ("0.4", "肆角"),
        ("11.20", "壹拾壹圆贰角"),
        ("10600", "壹万零陆佰圆整"),
        ("100000001", "壹亿零壹圆整"),
        ("100001000", "壹亿零壹仟圆整"),
        ("110000000", "壹亿壹仟万圆整"),
        ("999999999999.99", "玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖圆玖角玖分"),
    ],
)
def test_capital_prints_as_invoices_do(amount, words):
    assert rmb.capital(Decimal(amount)) == words
    assert rmb.parse_capital(words) == Decimal(amount).quantize(Decimal("0.01"))


def test_capital_of_red_invoice_is_negative():
    assert rmb.capital(Decimal("-30.49")) == "负叁拾圆肆角玖分"
    assert rmb.parse_capital("负叁拾圆肆角玖分") == Decimal("-30.49")


def test_capital_rounds_half_up_to_fen():
    assert rmb.capital(Decimal("0.005")) == "壹分"
    assert rmb.capital(Decimal("1.994")) == "壹圆玖角玖分"
    assert rmb.capital(Decimal("-0.001")) == "零圆整"


def test_capital_accepts_strings_and_ints():
    assert rmb.capital("¥1,234.5") == "壹仟贰佰叁拾肆圆伍角"
    assert rmb.capital(7) == "柒圆整"


@pytest.mark.parametrize("amount", [Decimal("1e12"), Decimal("-1000000000000"), Decimal("1e15")])
def test_capital_refuses_a_trillion_and_more(amount):
    with pytest.raises(RulesError) as caught:
        rmb.capital(amount)
    assert caught.value.problem.code == ProblemCode.CAPITAL_TOO_LARGE
    assert "一万亿" in caught.value.problem.message


def test_capital_refuses_float_and_nonsense():
    with pytest.raises(TypeError):
        rmb.capital(1.5)  # type: ignore[arg-type]
    with pytest.raises(RulesError):
        rmb.capital("abc")


def test_other_real_styles_on_request_and_in_matching():
    assert rmb.capital("30.49", yuan="元", zero_before_jiao=True) == "叁拾元零肆角玖分"
    assert rmb.capital("5954.80", zheng_after_jiao=True) == "伍仟玖佰伍拾肆圆捌角整"
    assert rmb.capital("31.49", zero_before_jiao=True) == "叁拾壹圆肆角玖分"
    assert rmb.matches_capital("⊗ 叁拾元零肆角玖分", "30.49")
    assert not rmb.matches_capital("叁拾元零肆角玖分", "30.94")


@pytest.mark.parametrize(
    ("words", "amount"),
    [
        ("⊗贰万零陆佰柒拾圆整", "20670.00"),
        ("人民币（大写）：贰万零陆佰柒拾元正", "20670.00"),
        ("拾万圆整", "100000"),
        ("壹拾万零柒仟圆整", "107000"),
        ("叁拾元零肆角玖分", "30.49"),
        ("伍仟玖佰伍拾肆圆捌角整", "5954.80"),
        ("零圆整", "0"),
        ("伍分", "0.05"),
        ("壹 佰 圆 整", "100"),
    ],
)
def test_parse_capital_reads_every_style(words, amount):
    assert rmb.parse_capital(words) == Decimal(amount)


@pytest.mark.parametrize(
    "words", ["", "整", "圆整", "壹贰圆", "佰圆", "壹圆伍", "叁拾圆肆", "一百元", "壹圆贰厘"]
)
def test_parse_capital_refuses_what_is_not_an_amount(words):
    with pytest.raises(RulesError) as caught:
        rmb.parse_capital(words)
    assert caught.value.problem.code == ProblemCode.CAPITAL_INVALID


@pytest.mark.parametrize(
    "words",
    [
        "壹万万圆整",
        "壹佰贰佰圆",
        "壹亿万圆整",
        "壹亿亿圆整",
        "贰拾壹佰圆整",
        "壹佰贰仟圆整",
        "壹仟壹仟圆整",
        "壹拾拾圆整",
        "壹万壹亿圆整",
        "壹万零壹万圆整",
        "壹万亿圆整",
        "万圆整",
        "壹圆伍角伍角",
        "壹圆伍分伍角",
        "壹圆伍分伍分",
    ],
)
def test_parse_capital_refuses_repeated_or_out_of_order_units(words):
    with pytest.raises(RulesError) as caught:
        rmb.parse_capital(words)
    assert caught.value.problem.code == ProblemCode.CAPITAL_INVALID
    assert words in caught.value.problem.message


@pytest.mark.parametrize(
    ("words", "amount"),
    [
        ("壹亿零壹万圆整", "100010000"),
        ("壹仟万零贰拾圆整", "10000020"),
        ("玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖圆整", "999999999999"),
        ("壹拾亿圆整", "1000000000"),
        ("壹亿壹仟万圆整", "110000000"),
        ("壹佰零伍圆零伍分", "105.05"),
        ("拾圆整", "10"),
    ],
)
def test_parse_capital_reads_units_in_order(words, amount):
    assert rmb.parse_capital(words) == Decimal(amount)


_money = st.decimals(
    min_value=Decimal("-999999999999.99"),
    max_value=Decimal("999999999999.99"),
    places=2,
    allow_nan=False,
    allow_infinity=False,
)


@settings(max_examples=300, deadline=None)
@given(_money)
def test_capital_round_trips_and_never_ends_with_fen_zheng(amount):
    words = rmb.capital(amount)
    assert not words.endswith("分整")
    assert "零零" not in words
    assert words.endswith(("整", "角", "分"))
    assert rmb.parse_capital(words) == amount
    for style in rmb.capital_styles(amount):
        assert rmb.parse_capital(style) == amount
        assert rmb.matches_capital(style, amount)
