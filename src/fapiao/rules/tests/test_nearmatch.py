import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fapiao.rules import nearmatch
from fapiao.rules.nearmatch import (
    ADJACENT_SWAP,
    CODE_NUMBER_SWAPPED,
    CODE_PLUS_NUMBER,
    DIGIT_EXTRA,
    DIGIT_MISSING,
    LOOKALIKE,
    ONE_DIGIT,
)

STORED = "25112000000012345678"


def test_every_pattern_has_a_chinese_label():
    assert set(nearmatch.LABELS) == set(nearmatch.PATTERNS)
    assert all(label for label in nearmatch.LABELS.values())


def test_normalize_strips_spaces_and_full_width_but_keeps_letters():
    assert nearmatch.normalize(" ２５１１ 2000\u200b 0000 ") == "251120000000"
    assert nearmatch.normalize("25O1") == "25O1"
    assert nearmatch.normalize(None) == ""


@pytest.mark.parametrize(
    ("entered", "pattern"),
    [
        ("25112000000012345679", ONE_DIGIT),
        ("25112000000012345687", ADJACENT_SWAP),
        ("2511200000001234567", DIGIT_MISSING),
        ("251120000000123456789", DIGIT_EXTRA),
        ("251120000000123456x78", DIGIT_EXTRA),
        ("25112OOOOOOO12345678", LOOKALIKE),
        ("25112000000O12345678", LOOKALIKE),
        ("2511200000001234567B", LOOKALIKE),
        ("25112000000O12345670", None),  # a lookalike and a wrong digit: two steps
        ("2511 2000 0000 1234 5678", None),  # equal after normalising
        ("25112000000012345600", None),
        ("25112000000012345876", None),
    ],
)
def test_classify_names_the_pattern(entered, pattern):
    assert nearmatch.classify(entered, STORED) == pattern
    if pattern is not None:
        assert nearmatch.candidates(entered)[STORED] == pattern
    else:
        assert STORED not in nearmatch.candidates(entered)


def test_a_letter_that_is_no_lookalike_is_one_digit_wrong():
    assert nearmatch.classify("2511200000001234567X", STORED) == ONE_DIGIT


def test_stored_must_be_digits_and_input_non_empty():
    assert nearmatch.classify("123", "12A") is None
    assert nearmatch.classify("", "1") is None
    assert nearmatch.candidates("") == {}


def test_a_twenty_digit_number_has_about_430_candidates():
    found = nearmatch.candidates("25113456789012345678")
    assert 400 <= len(found) <= 430
    assert "25113456789012345678" not in found
    assert all(c.isdigit() for c in found)


def test_identity_patterns():
    assert nearmatch.classify_identity("2511200000", "0012345678", "", STORED) == CODE_PLUS_NUMBER
    assert (
        nearmatch.classify_identity("00012345", "011001900104", "011001900104", "00012345")
        == CODE_NUMBER_SWAPPED
    )
    assert nearmatch.classify_identity(STORED, "", "", STORED) == CODE_NUMBER_SWAPPED
    # A typo in the number with the same code, and in the code with the same number.
    assert nearmatch.classify_identity("011001900104", "00012346", "011001900104", "00012345") == (
        ONE_DIGIT
    )
    assert nearmatch.classify_identity("011001900140", "00012345", "011001900104", "00012345") == (
        ADJACENT_SWAP
    )
    assert nearmatch.classify_identity("", STORED[:-1] + "0", "", STORED) == ONE_DIGIT
    assert nearmatch.classify_identity("", STORED, "", STORED) is None
    assert nearmatch.classify_identity("011001900104", "00099999", "011001900104", "00012345") is (
        None
    )
    found = nearmatch.identity_candidates("2511200000", "0012345678")
    assert found[("", STORED)] == CODE_PLUS_NUMBER
    assert found[("0012345678", "2511200000")] == CODE_NUMBER_SWAPPED


_typed = st.text(alphabet="0123456789OolIZSBx| ", min_size=1, max_size=22)


@settings(max_examples=300, deadline=None)
@given(_typed)
def test_classify_agrees_with_candidates(entered):
    for stored, pattern in nearmatch.candidates(entered).items():
        assert nearmatch.classify(entered, stored) == pattern


_numbers = st.text(alphabet="0123456789", min_size=2, max_size=20)


@settings(max_examples=300, deadline=None)
@given(_numbers, st.data())
def test_every_one_step_typo_finds_the_stored_number(stored, data):
    i = data.draw(st.integers(0, len(stored) - 1))
    digit = data.draw(st.sampled_from("0123456789"))
    typos = [
        stored[:i] + digit + stored[i + 1 :],  # substituted (maybe unchanged)
        stored[:i] + stored[i + 1 :],  # missing
        stored[:i] + digit + stored[i:],  # extra
        stored[:i] + {"0": "O", "1": "l"}.get(stored[i], stored[i]) + stored[i + 1 :],
    ]
    if i + 1 < len(stored):
        typos.append(stored[:i] + stored[i + 1] + stored[i] + stored[i + 2 :])
    for typo in typos:
        if typo == stored or not typo:
            continue
        assert stored in nearmatch.candidates(typo)
        assert nearmatch.classify(typo, stored) == nearmatch.candidates(typo)[stored]


@settings(max_examples=300, deadline=None)
@given(_typed, _numbers)
def test_classify_is_none_or_a_candidate(entered, stored):
    pattern = nearmatch.classify(entered, stored)
    if pattern is not None:
        assert nearmatch.candidates(entered).get(stored) == pattern


@pytest.mark.parametrize(
    ("entered", "text"),
    [
        ("25112000000012345679", "第 20 位：输入的是“9”，应为“8”"),
        ("25112000000012345687", "第 19、20 位颠倒：输入的是“87”，应为“78”"),
        ("2511200000001234568", "漏了第 19 位的“7”：输入了 19 位，应为 20 位"),
        ("251120000000123456789", "第 21 位的“9”多余：输入了 21 位，应为 20 位"),
        ("25112000000O12345678", "第 12 位的字母“O”应为数字“0”"),
        ("99999", ""),
    ],
)
def test_describe_says_which_digit_differs(entered, text):
    assert nearmatch.describe(entered, STORED) == text
