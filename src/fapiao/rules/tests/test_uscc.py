import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fapiao.rules import uscc
from fapiao.rules.problems import ProblemCode, RulesError
from fapiao.rules.uscc import UsccKind


def test_valid_uscc_is_well_formed_with_region():
    result = uscc.check("91110108690017781B")
    assert result.kind is UsccKind.USCC
    assert result.well_formed and result.ok
    assert result.checksum_ok is True
    assert result.region is not None and result.region.name == "北京市"
    assert result.problems == ()
    assert result.message == "统一社会信用代码格式正确"


@pytest.mark.parametrize("authority", ["1", "2", "3", "4", "5", "6", "7", "8", "9", "A", "N", "Y"])
def test_uscc_accepts_A_N_Y_authorities(authority):
    code = uscc.make(authority + "1110108690017781")
    result = uscc.check(code)
    assert result.well_formed and result.checksum_ok is True
    assert result.problems == ()


@pytest.mark.parametrize("authority", ["0", "B", "C", "X"])
def test_authority_outside_gb32100_is_not_well_formed(authority):
    result = uscc.check(uscc.make(authority + "1110108690017781"))  # check character passes
    assert result.kind is UsccKind.USCC
    assert not result.well_formed and not result.ok
    assert [p.code for p in result.problems] == [ProblemCode.USCC_AUTHORITY]
    assert not result.problems[0].is_warning
    assert f"第 1 位是登记管理部门代码，应为 1-9、A、N 或 Y，输入的是“{authority}”" in (
        result.message
    )


def test_division_code_in_positions_3_to_8_must_be_digits():
    for code in ("91ABCDEFMA01YF8K3U", uscc.make("91ABCDEFMA01YF8K3")):
        result = uscc.check(code)
        assert result.kind is UsccKind.USCC
        assert not result.well_formed and not result.ok
        assert [p.code for p in result.problems] == [ProblemCode.USCC_REGION]
        assert (
            "第 3-8 位是登记管理机关行政区划码，应为 6 位数字，输入的是“ABCDEF”" in result.message
        )


def test_division_code_with_one_letter_is_not_well_formed():
    result = uscc.check(uscc.make("911101A8690017781"))
    assert not result.well_formed
    assert "第 3-8 位" in result.message


@pytest.mark.parametrize("prefix", ["94", "90", "9A", "14", "18", "54", "5Y"])
def test_entity_type_must_belong_to_its_authority(prefix):
    result = uscc.check(uscc.make(prefix + "110108690017781"))
    assert not result.well_formed
    assert [p.code for p in result.problems] == [ProblemCode.USCC_ENTITY_TYPE]
    assert "第 2 位是机构类别代码" in result.message
    assert f"输入的是“{prefix[1]}”" in result.message


# 机构类别 of the other authorities (2-8, A, N, Y) are not checked: see the module doc.
@pytest.mark.parametrize(
    "prefix",
    [
        "91",
        "92",
        "93",
        "11",
        "12",
        "13",
        "19",
        "51",
        "52",
        "53",
        "59",
        "37",
        "2A",
        "N4",
        "Y2",
        "A9",
    ],
)
def test_known_entity_types_are_accepted(prefix):
    result = uscc.check(uscc.make(prefix + "110108690017781"))
    assert result.well_formed and result.checksum_ok is True
    assert result.problems == ()


def test_id_card_that_also_passes_the_uscc_check_is_individual_if_not_a_uscc():
    code = "140105199001010593"  # valid 居民身份证号; 1 机构编制 has no 机构类别 4
    assert uscc._uscc_check_char(code[:17]) == code[17]
    result = uscc.check(code)
    assert result.kind is UsccKind.INDIVIDUAL
    assert result.well_formed and result.checksum_ok is True
    assert result.region is not None and result.region.name == "山西省"


def test_bad_check_character_is_a_warning_for_real_legal_codes():
    result = uscc.check("91350100M0001TGQXM")
    assert result.kind is UsccKind.USCC
    assert result.well_formed and result.ok
    assert result.checksum_ok is False
    assert [p.code for p in result.problems] == [ProblemCode.USCC_CHECKSUM]
    assert result.problems[0].is_warning
    assert result.message == "校验位不符，请核对（部分早期合法代码也会出现此情况）"
    assert result.region is not None and result.region.name == "福建省"


@pytest.mark.parametrize(
    "raw",
    [
        "91110108690017781b",
        " 9111 0108 6900 1778 1B ",
        "９１１１０１０８６９００１７７８１Ｂ",
        "911101086900\u300017781B",
    ],
)
def test_check_tolerates_case_spaces_and_full_width(raw):
    result = uscc.check(raw)
    assert result.normalized == "91110108690017781B"
    assert result.well_formed and result.checksum_ok is True


@pytest.mark.parametrize(
    ("raw", "position", "char"),
    [
        ("9150010807MGZHI002", 13, "Z"),
        ("91110108690017781O", 18, "O"),
        ("S1110108690017781B", 1, "S"),
    ],
)
def test_illegal_characters_are_named_with_position(raw, position, char):
    result = uscc.check(raw)
    assert not result.well_formed and not result.ok
    assert result.checksum_ok is None
    first = result.problems[0]
    assert first.code == ProblemCode.USCC_CHAR
    assert f"第 {position} 位是“{char}”" in first.message
    assert "I/O/S/V/Z 不是合法字符" in first.message


def test_punctuation_is_an_illegal_character_too():
    result = uscc.check("91110108-690017781B")
    assert result.kind is UsccKind.UNKNOWN  # 19 characters
    result = uscc.check("9111010869001778-B")
    assert not result.well_formed
    assert "第 17 位是“-”，不是合法字符" in result.message


@pytest.mark.parametrize("length", [1, 10, 14, 16, 19, 21, 26])
def test_wrong_length_names_the_length(length):
    result = uscc.check("9" * length)
    assert not result.well_formed
    assert result.kind is UsccKind.UNKNOWN
    assert result.problems[0].code == ProblemCode.USCC_LENGTH
    assert f"{length} 位" in result.message


def test_empty_input_asks_for_a_value():
    result = uscc.check("  ")
    assert not result.well_formed
    assert result.problems[0].code == ProblemCode.USCC_EMPTY


def test_field_name_is_carried_into_problems():
    result = uscc.check("123", field="buyer_tax_id")
    assert result.problems[0].field == "buyer_tax_id"
    assert result.problems[0].as_dict()["field"] == "buyer_tax_id"


def test_legacy15_with_valid_organisation_code_check():
    result = uscc.check("110108690017781")
    assert result.kind is UsccKind.LEGACY15
    assert result.well_formed and result.checksum_ok is True
    assert result.region is not None and result.region.name == "北京市"


def test_legacy15_check_value_ten_is_x():
    body = "D2143569"  # check value 10 → 'X'
    assert uscc._org_check_char(body) == "X"
    result = uscc.check("110108" + body + "X")
    assert result.checksum_ok is True


def test_legacy15_bad_check_is_a_warning():
    result = uscc.check("110108690017782")
    assert result.well_formed
    assert result.checksum_ok is False
    assert [p.code for p in result.problems] == [ProblemCode.LEGACY15_CHECKSUM]


def test_legacy15_region_must_be_digits():
    result = uscc.check("11A108690017781")
    assert not result.well_formed
    assert "第 3 位" in result.message


def test_eighteen_digit_id_card_is_individual():
    result = uscc.check("11010519491231002X")
    assert result.kind is UsccKind.INDIVIDUAL
    assert result.well_formed and result.checksum_ok is True
    assert result.region is not None and result.region.name == "北京市"


def test_all_digit_code_passing_uscc_check_is_uscc():
    code = uscc.make("91320213314042457")
    assert code == "913202133140424571"
    assert uscc.check(code).kind is UsccKind.USCC


def test_all_digit_code_failing_both_checks_is_uscc_with_warning():
    result = uscc.check("110105194912310021")  # ID check fails, USCC check fails
    assert result.kind is UsccKind.USCC
    assert result.checksum_ok is False
    assert {p.code for p in result.problems} >= {ProblemCode.USCC_CHECKSUM}


def test_id_card_with_impossible_birth_date_is_not_individual():
    body = "11010519491331002"  # month 13
    total = sum(int(c) * w for c, w in zip(body, uscc._ID_WEIGHTS, strict=True))
    code = body + uscc._ID_CHECK[total % 11]
    assert uscc.check(code).kind is UsccKind.USCC


@pytest.mark.parametrize("raw", ["32040419760706081301", "11010549123100201", "P1234567890123456"])
def test_seventeen_and_twenty_character_ids_are_individual_without_check(raw):
    result = uscc.check(raw)
    assert result.kind is UsccKind.INDIVIDUAL
    assert result.well_formed
    assert result.checksum_ok is None


@pytest.mark.parametrize("raw", ["91110108MA01YF8K3", "91110101202001201", "N2110108MA01YF8K3"])
def test_seventeen_character_uscc_missing_one_character_is_reported_short(raw):
    result = uscc.check(raw)
    assert result.kind is UsccKind.USCC
    assert not result.well_formed and not result.ok
    assert result.checksum_ok is None and result.region is None
    assert [p.code for p in result.problems] == [ProblemCode.USCC_LENGTH]
    assert result.message == "统一社会信用代码应为 18 位，输入了 17 位（少 1 位）"


def test_seventeen_digit_id_card_missing_one_digit_is_reported_short():
    result = uscc.check("11010519491231002")
    assert result.kind is UsccKind.INDIVIDUAL
    assert not result.well_formed
    assert result.message == "居民身份证号码应为 18 位，输入了 17 位（少 1 位）"


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("00000000000000000", "全为 0"),
        ("00000000000000000000", "全为 0"),
        ("ABCDEFGHJKLMNPQRT", "全是字母"),
        ("ABCDEFGHJKLMNPQRTUWX", "全是字母"),
    ],
)
def test_all_zero_or_all_letter_individual_ids_are_not_well_formed(raw, fragment):
    result = uscc.check(raw)
    assert not result.well_formed
    assert [p.code for p in result.problems] == [ProblemCode.USCC_IMPLAUSIBLE]
    assert fragment in result.message


def test_natural_person_buyer_is_individual():
    result = uscc.check(" 个人 ")
    assert result.kind is UsccKind.INDIVIDUAL
    assert result.well_formed and result.checksum_ok is None
    assert result.region is None
    assert result.problems == ()


def test_check_char_and_make():
    assert uscc.check_char("91110108690017781") == "B"
    assert uscc.make("9111 0108 6900 1778 1") == "91110108690017781B"


@pytest.mark.parametrize("bad", ["9111010869001778", "9111010869001778I", "911101086900177811"])
def test_check_char_refuses_bad_bodies(bad):
    with pytest.raises(RulesError):
        uscc.check_char(bad)


_authority_and_type = st.sampled_from(sorted(uscc.AUTHORITIES)).flatmap(
    lambda a: st.sampled_from(sorted(uscc.ENTITY_TYPES.get(a, "0123456789"))).map(a.__add__)
)
_body = st.tuples(
    _authority_and_type,
    st.text(alphabet="0123456789", min_size=6, max_size=6),
    st.text(alphabet=uscc.CHARSET, min_size=9, max_size=9),
).map("".join)


@settings(max_examples=300, deadline=None)
@given(_body)
def test_make_always_checks_ok(body):
    code = uscc.make(body)
    result = uscc.check(code)
    assert result.kind is UsccKind.USCC
    assert result.well_formed and result.checksum_ok is True
    assert result.problems == ()


@settings(max_examples=200, deadline=None)
@given(_body, st.sampled_from(uscc.CHARSET))
def test_any_single_wrong_check_character_is_caught(body, wrong):
    code = uscc.make(body)
    if wrong == code[-1]:
        return
    result = uscc.check(code[:-1] + wrong)
    assert result.well_formed
    # an all-digit code may turn out to be a valid ID card; otherwise the checksum must fail
    assert result.kind is UsccKind.INDIVIDUAL or result.checksum_ok is False


def test_digits_of_other_scripts_are_illegal_characters():
    result = uscc.check("११०१०५१९४९१२३१००२X")
    assert not result.well_formed
    assert result.kind is not UsccKind.INDIVIDUAL
