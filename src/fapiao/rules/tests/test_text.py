from decimal import Decimal

import pytest

from fapiao.rules.text import normalize_code, to_decimal


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("９１３５０１００ｍ０００１ｔｇｑｘｍ", "91350100M0001TGQXM"),
        (" 9135 0100\u3000M000 1TGQXM\n", "91350100M0001TGQXM"),
        ("91350100m0001tgqxm", "91350100M0001TGQXM"),
        ("0520\u200b0210 0113", "052002100113"),
        ("", ""),
        (None, ""),
    ],
)
def test_normalize_code_folds_width_space_and_case(raw, expected):
    assert normalize_code(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("¥1,234.50", Decimal("1234.50")),
        ("￥ 6.2", Decimal("6.2")),
        ("１２３", Decimal("123")),
        ("１，２３４．５", Decimal("1234.5")),
        ("-0.5 元", Decimal("-0.5")),
        ("\u2212100", Decimal("-100")),
        ("57", Decimal("57")),
        (" .5 ", Decimal(".5")),
        (Decimal("3.10"), Decimal("3.10")),
        (12, Decimal("12")),
    ],
)
def test_to_decimal_tolerates_printed_amounts(raw, expected):
    assert to_decimal(raw) == expected


@pytest.mark.parametrize("raw", ["", "abc", "1.2.3", "NaN", "Infinity", "1e5", "--1", None])
def test_to_decimal_returns_none_for_non_amounts(raw):
    assert to_decimal(raw) is None


def test_to_decimal_refuses_float():
    with pytest.raises(TypeError):
        to_decimal(1.5)  # type: ignore[arg-type]


def test_is_digits_accepts_ascii_digits_only():
    from fapiao.rules.text import is_digits

    assert is_digits("0123456789")
    assert not is_digits("१२३")  # Devanagari digits survive NFKC
    assert not is_digits("²")
    assert not is_digits("")
