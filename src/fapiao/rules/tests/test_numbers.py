import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fapiao.rules import numbers, regions
from fapiao.rules.numbers import NumberKind
from fapiao.rules.problems import ProblemCode, RulesError


def codes(info):
    return [p.code for p in info.problems]


def test_digital_number_is_split_into_its_parts():
    info = numbers.parse(None, "25924000000001260164")
    assert info.ok and info.kind is NumberKind.DIGITAL
    assert info.code is None
    assert info.year == 2025
    assert info.region is not None and info.region.name == "青岛市"
    assert info.channel_digit == "4"
    assert info.sequence == "000000001260164"
    assert info.type_hint is None
    assert info.dedup_key == ("", "25924000000001260164")


def test_digital_number_with_spaces_and_full_width_digits():
    info = numbers.parse("", "２５４４ ２０００ ０００１ ２７４４ ４５１９")
    assert info.ok and info.number == "25442000000127444519"


def test_legacy_twelve_digit_code():
    info = numbers.parse("052002100113", "00008006")
    assert info.ok and info.kind is NumberKind.LEGACY
    assert info.year == 2021
    assert info.region is not None and info.region.name == "贵州省"
    assert info.type_hint is not None and info.type_hint.short_name == "电子专票"
    assert info.dedup_key == ("052002100113", "00008006")


@pytest.mark.parametrize(
    ("code", "hint"),
    [
        ("033002000211", "10"),
        ("031001900504", "04"),
        ("031001900505", "04"),
        ("031001900506", "11"),
        ("031001900507", "11"),
        ("031001900512", "14"),
        ("031001900513", "08"),
        ("031001900599", None),
    ],
)
def test_twelve_digit_code_kind_digits_give_a_type_hint(code, hint):
    info = numbers.parse(code, "12345678")
    assert info.ok
    assert (info.type_hint.code if info.type_hint else None) == hint


@pytest.mark.parametrize(
    ("code", "hint"),
    [("1100191140", "01"), ("1100191540", "01"), ("3702191640", "04"), ("3702191340", "04")],
)
def test_ten_digit_code_digit_eight_gives_a_type_hint(code, hint):
    info = numbers.parse(code, "01234567")
    assert info.ok
    assert info.type_hint is not None and info.type_hint.code == hint


def test_ten_digit_code_region_and_year():
    info = numbers.parse("3702951130", "01234567")
    assert info.region is not None and info.region.name == "青岛市"
    assert info.year == 1995


def test_plan_city_in_legacy_code():
    info = numbers.parse("044031900111", "12345678")
    assert info.region is not None and info.region.name == "深圳市"


def test_split_digital_number_is_recognised_and_joined():
    info = numbers.parse("254420000001", "27444519")
    assert not info.ok
    assert codes(info) == [ProblemCode.DIGITAL_SPLIT]
    assert info.suggestions == ((None, "25442000000127444519"),)
    assert "25442000000127444519" in info.problems[0].message
    assert info.region is not None and info.region.name == "广东省"


def test_split_in_the_middle_is_recognised_too():
    info = numbers.parse("2544200000", "0127444519")
    assert codes(info) == [ProblemCode.DIGITAL_SPLIT]
    assert info.suggestions == ((None, "25442000000127444519"),)


def test_letter_o_and_l_instead_of_digits_are_corrected():
    info = numbers.parse("05200210O113", "OOO8OO6l".replace("OOO8", "0OO8"))
    assert not info.ok
    assert codes(info) == [ProblemCode.NUMBER_LETTER, ProblemCode.NUMBER_LETTER]
    assert info.problems[1].field == "number"
    assert "字母“l”应为数字 1" in info.problems[1].message
    assert info.suggestions == (("052002100113", "00080061"),)
    assert info.region is not None  # derived from the corrected digits


def test_letter_i_in_a_digital_number():
    info = numbers.parse("", "2544200000012744451I")
    assert codes(info) == [ProblemCode.NUMBER_LETTER]
    assert info.suggestions == ((None, "25442000000127444511"),)


@pytest.mark.parametrize(
    ("number", "given", "expected", "hint"),
    [
        ("2544200000012744451", 19, 20, "少 1 位"),
        ("254420000001274445191", 21, 20, "多 1 位"),
    ],
)
def test_missing_or_extra_digit_in_digital_number(number, given, expected, hint):
    info = numbers.parse(None, number)
    assert not info.ok
    assert codes(info) == [ProblemCode.NUMBER_LENGTH]
    message = info.problems[0].message
    assert f"应为 {expected} 位" in message and f"输入了 {given} 位" in message and hint in message


def test_missing_or_extra_digit_in_legacy_code_and_number():
    info = numbers.parse("05200210011", "000080067")
    assert codes(info) == [ProblemCode.CODE_LENGTH, ProblemCode.NUMBER_LENGTH]
    assert "输入了 11 位（少 1 位）" in info.problems[0].message
    assert "输入了 9 位（多 1 位）" in info.problems[1].message


def test_non_digits_are_named_with_position():
    info = numbers.parse("052002100113", "0000-8006")
    assert not info.ok and info.kind is None
    assert codes(info) == [ProblemCode.NUMBER_NOT_DIGITS]
    assert "第 5 位是“-”" in info.problems[0].message


def test_swapped_code_and_number():
    info = numbers.parse("00008006", "052002100113")
    assert codes(info) == [ProblemCode.CODE_NUMBER_SWAPPED]
    assert info.suggestions == (("052002100113", "00008006"),)


def test_digital_number_typed_into_the_code_field():
    info = numbers.parse("25442000000127444519", "")
    assert codes(info) == [ProblemCode.CODE_NUMBER_SWAPPED]
    assert info.suggestions == ((None, "25442000000127444519"),)


def test_eight_digit_number_without_code():
    info = numbers.parse("", "00008006")
    assert codes(info) == [ProblemCode.CODE_MISSING]
    assert info.problems[0].field == "code"


def test_code_typed_alone_in_the_number_field():
    info = numbers.parse("", "052002100113")
    assert codes(info) == [ProblemCode.NUMBER_LENGTH]
    assert "像是发票代码" in info.problems[0].message


@pytest.mark.parametrize(
    ("number", "suggestion"),
    [
        ("05200210011300008006", ("052002100113", "00008006")),
        ("110019113001234567", ("1100191130", "01234567")),
    ],
)
def test_code_and_number_joined_into_one_field(number, suggestion):
    info = numbers.parse(None, number)
    assert codes(info) == [ProblemCode.LEGACY_JOINED]
    assert info.suggestions == (suggestion,)


def test_code_given_with_a_digital_number_is_ignored_with_a_warning():
    info = numbers.parse("123", "25442000000127444519")
    assert info.ok and info.code is None
    assert codes(info) == [ProblemCode.CODE_NOT_NEEDED]
    assert info.problems[0].is_warning


def test_digital_number_with_impossible_year_or_region():
    assert codes(numbers.parse("", "20512000000005197325")) == [ProblemCode.DIGITAL_YEAR]
    assert codes(numbers.parse("", "25002000000005197325")) == [ProblemCode.DIGITAL_REGION_UNKNOWN]


_TODAY = dt.date(2026, 6, 30)


@pytest.mark.parametrize("year", [2027, 2030, 2099])
def test_digital_number_from_a_year_after_today_is_not_ok(year):
    number = numbers.digital_number(year, "44", 2, 127444519)
    info = numbers.parse(None, number, today=_TODAY)
    assert not info.ok
    assert codes(info) == [ProblemCode.DIGITAL_YEAR_FUTURE]
    assert info.problems[0].field == "number"
    assert (
        f"{year} 年" in info.problems[0].message
        and "晚于今年（2026 年）" in info.problems[0].message
    )
    assert info.year == year  # still decoded, for the message and the form


def test_digital_number_of_this_year_is_ok():
    assert numbers.parse(None, "26442000000127444519", today=_TODAY).ok
    assert numbers.parse(None, "27442000000127444519", today=dt.date(2027, 1, 1)).ok


def test_digital_year_defaults_to_the_real_today():
    next_year = dt.date.today().year + 1
    number = numbers.digital_number(next_year, "44", 2, 1)
    assert codes(numbers.parse(None, number)) == [ProblemCode.DIGITAL_YEAR_FUTURE]
    assert numbers.parse(None, numbers.digital_number(next_year - 1, "44", 2, 1)).ok


@pytest.mark.parametrize(("yy", "ok"), [("00", False), ("20", False), ("21", True)])
def test_digital_number_before_the_first_digital_year_is_not_ok(yy, ok):
    info = numbers.parse(None, f"{yy}442000000127444519", today=_TODAY)
    assert info.ok is ok
    assert codes(info) == ([] if ok else [ProblemCode.DIGITAL_YEAR])
    assert numbers.FIRST_DIGITAL_YEAR == 2021


def test_legacy_code_with_unknown_region_is_only_a_warning():
    info = numbers.parse("099002100111", "12345678")
    assert info.ok
    assert codes(info) == [ProblemCode.LEGACY_REGION_UNKNOWN]


def test_blockchain_style_code_is_a_warning():
    info = numbers.parse("144031539110", "12345678")
    assert info.ok
    assert codes(info) == [ProblemCode.CODE_PREFIX]
    assert info.region is not None and info.region.name == "深圳市"
    assert info.type_hint is None


def test_all_zero_number_is_refused():
    assert ProblemCode.NUMBER_ALL_ZERO in codes(numbers.parse("052002100113", "00000000"))


def test_empty_input():
    info = numbers.parse(None, None)
    assert not info.ok and codes(info) == [ProblemCode.NUMBER_EMPTY]


def test_problem_messages_are_chinese_and_fields_named():
    info = numbers.parse("05200210011", "000080067")
    for problem in info.problems:
        assert problem.field in {"code", "number"}
        assert any("\u4e00" <= ch <= "\u9fff" for ch in problem.message)


def test_digital_number_builds_and_pads():
    assert numbers.digital_number(2025, "92", "4", 1260164) == "25924000000001260164"
    assert numbers.digital_number(2024, regions.region_from_digital("11"), 2, 48542163) == (
        "24112000000048542163"
    )


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ((2020, "11", "2", 1), "year"),
        ((2025, "00", "2", 1), "region_code"),
        ((2025, "11", "22", 1), "channel"),
        ((2025, "11", "x", 1), "channel"),
        ((2025, "11", "2", 10**15), "sequence"),
        ((2025, "11", "2", -1), "sequence"),
    ],
)
def test_digital_number_validates_inputs(args, field):
    with pytest.raises(RulesError) as caught:
        numbers.digital_number(*args)
    assert caught.value.problem.field == field


_digital_codes = sorted(
    {r.digital_code for r in regions.PROVINCES.values()}
    | {r.digital_code for r in regions.PLAN_CITIES.values()}
)


@settings(max_examples=150, deadline=None)
@given(
    st.integers(2021, 2099),
    st.sampled_from(_digital_codes),
    st.integers(0, 9),
    st.integers(0, 10**15 - 1),
)
def test_digital_number_round_trips_through_parse(year, region_code, channel, sequence):
    number = numbers.digital_number(year, region_code, channel, sequence)
    info = numbers.parse(None, number, today=dt.date(year, 12, 31))
    assert info.ok and info.problems == ()
    assert info.kind is NumberKind.DIGITAL
    assert info.year == year
    assert info.region is not None and info.region.digital_code == region_code
    assert info.channel_digit == str(channel)
    assert int(info.sequence) == sequence


@settings(max_examples=200, deadline=None)
@given(
    st.integers(2021, 2099),
    st.sampled_from(_digital_codes),
    st.integers(0, 9),
    st.integers(0, 10**15 - 1),
    st.integers(1, 19),
)
def test_any_split_of_a_digital_number_is_joined_back(year, region_code, channel, sequence, cut):
    number = numbers.digital_number(year, region_code, channel, sequence)
    info = numbers.parse(number[:cut], number[cut:], today=dt.date(2099, 12, 31))
    assert not info.ok
    assert (None, number) in info.suggestions


def test_digits_of_other_scripts_are_not_digits():
    info = numbers.parse("", "२५४४२०००००१२७४४४५१९०")
    assert not info.ok
    assert ProblemCode.NUMBER_NOT_DIGITS in codes(info)
