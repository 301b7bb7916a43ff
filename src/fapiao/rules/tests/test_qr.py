import datetime as dt
import re
from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fapiao.rules import numbers, qr, regions
from fapiao.rules.problems import ProblemCode, RulesError

LEGACY = "01,10,050001700111,99999951,300.00,20201010,14754822929856772523,E400,"
DIGITAL = "01,32,,24312000000136634917,0.01,20240514,,1DD6"


def codes(payload):
    return [p.code for p in payload.problems]


def test_parses_legacy_payload():
    p = qr.parse(LEGACY)
    assert (p.version, p.type_code, p.code, p.number) == ("01", "10", "050001700111", "99999951")
    assert p.type is not None and p.type.name == "增值税电子普通发票"
    assert p.amount == Decimal("300.00")
    assert p.amount_includes_tax is False
    assert p.amount_excluding_tax == Decimal("300.00") and p.total is None
    assert p.issue_date == dt.date(2020, 10, 10)
    assert p.check_code == "14754822929856772523" and p.check_code_last6 == "772523"
    assert p.crc == "E400"
    assert p.problems == ()
    assert p.raw == LEGACY
    assert p.dedup_key == ("050001700111", "99999951")


def test_parses_digital_payload_amount_as_total():
    p = qr.parse(DIGITAL)
    assert p.code is None and p.check_code is None and p.check_code_last6 is None
    assert p.number == "24312000000136634917"
    assert p.amount_includes_tax is True and p.is_digital
    assert p.total == Decimal("0.01") and p.amount_excluding_tax is None
    assert p.problems == ()


@pytest.mark.parametrize(
    "text",
    [
        "01,32, ,24312000000136634917,0.01,20240514, ,1DD6",
        "01,32,,24312000000136634917,0.01,20240514,,1dd6,",
        "  01,32,,24312000000136634917,0.01,20240514,,1DD6\r\n",
        "０１，３２，，２４３１２００００００１３６６３４９１７，０．０１，２０２４０５１４，，１ＤＤ６",
        "01,32,24312000000136634917,0.01,20240514,1DD6",
    ],
)
def test_tolerates_spaces_case_full_width_and_missing_empty_fields(text):
    p = qr.parse(text)
    assert qr.format(p) == DIGITAL
    assert p.problems == ()


def test_short_amounts_are_read_as_money():
    p = qr.parse("01,10,031001900511,04875996,57,20200420,77669856890717802165,64CF,")
    assert p.amount == Decimal("57.00")
    p = qr.parse("01,32,,24312000000136634917,6.2,20240514,,1DD6")
    assert p.amount == Decimal("6.20")
    assert "6.20" in qr.format(p)


def test_missing_check_code_field_is_aligned_by_shape():
    p = qr.parse("01,01,4300171130,02550485,10545.43,20180115,6579,")
    assert p.code == "4300171130" and p.number == "02550485"
    assert p.check_code is None and p.crc == "6579"
    assert p.problems == ()  # 专票 carry no 校验码


def test_missing_amount_is_a_warning_not_a_misread_date():
    p = qr.parse("01,10,033002000211,83089647,20200723,16197833567414507415,0941,")
    assert p.amount is None
    assert p.issue_date == dt.date(2020, 7, 23)
    assert codes(p) == [ProblemCode.QR_FIELD_MISSING]
    assert p.problems[0].field == "amount"


def test_missing_crc_and_check_code_of_a_general_invoice_are_warnings():
    p = qr.parse("01,10,033002000211,83089647,510.68,20200723")
    assert [x.field for x in p.problems] == ["check_code", "crc"]
    assert all(x.is_warning for x in p.problems)


def test_unknown_type_and_version_are_warnings():
    p = qr.parse("02,77,033002000211,83089647,510.68,20200723,16197833567414507415,0941")
    assert codes(p) == [ProblemCode.QR_VERSION, ProblemCode.QR_UNKNOWN_TYPE]
    assert p.type is None


def test_type_and_number_disagreement_is_a_warning():
    p = qr.parse("01,31,033002000211,83089647,510.68,20200723,16197833567414507415,0941")
    assert ProblemCode.QR_TYPE_MISMATCH in codes(p)
    p = qr.parse("01,10,,24312000000136634917,0.01,20240514,,1DD6")
    assert ProblemCode.QR_TYPE_MISMATCH in codes(p)
    assert p.amount_includes_tax  # a 20-digit number carries 价税合计 whatever the type says


def test_code_on_a_digital_payload_is_a_warning():
    p = qr.parse("01,32,033002000211,24312000000136634917,0.01,20240514,,1DD6")
    assert codes(p) == [ProblemCode.QR_CODE_UNEXPECTED]


def test_negative_amount_of_a_red_invoice():
    assert qr.parse("01,32,,24312000000136634917,-100.5,20240514,,1DD6").amount == Decimal(
        "-100.50"
    )


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("220000202306241244230163872083", "30 位数字"),
        ("https://inv-veri.chinatax.gov.cn/index.html", "网址"),
        ("www.example.com/fp?id=1", "网址"),
        ("hello, world", "不是发票二维码"),
        ("", "为空"),
        ("   \n", "为空"),
        ("AB,10,050001700111,99999951,300.00,20201010", "不是发票二维码"),
        ("12,34,56,78", "不是发票二维码"),
        ("02,10,050001700111,99999951,300.00", "不是发票二维码"),
    ],
)
def test_non_invoice_payloads_are_refused_with_a_clear_message(text, fragment):
    with pytest.raises(qr.QrError) as caught:
        qr.parse(text)
    assert caught.value.problem.code == ProblemCode.QR_NOT_INVOICE
    assert fragment in caught.value.problem.message
    assert isinstance(caught.value, RulesError) and isinstance(caught.value, ValueError)


def test_unrecognisable_fields_are_malformed():
    with pytest.raises(qr.QrError) as caught:
        qr.parse("01,10,abc,def,1,2,3,4")
    assert caught.value.problem.code == ProblemCode.QR_MALFORMED


def test_payload_without_date_is_incomplete():
    with pytest.raises(qr.QrError) as caught:
        qr.parse("01,10,050001700111,99999951,300.00,,14754822929856772523,E400")
    assert caught.value.problem.code == ProblemCode.QR_INCOMPLETE
    assert caught.value.problem.field == "issue_date"


def test_impossible_date_is_not_a_date():
    with pytest.raises(qr.QrError):
        qr.parse("01,10,050001700111,99999951,300.00,20201310,14754822929856772523,E400")


def test_format_is_canonical():
    assert qr.format(qr.parse(LEGACY)) == LEGACY
    assert qr.format(qr.parse(LEGACY.rstrip(","))) == LEGACY
    assert qr.format(qr.parse(DIGITAL + ",")) == DIGITAL


def test_build_validates_parts():
    with pytest.raises(qr.QrError) as caught:
        qr.build(type_code="1", number="123", amount=Decimal("1"), issue_date=dt.date(2024, 1, 1))
    assert {p.field for p in caught.value.problems} == {"type_code", "number"}
    with pytest.raises(qr.QrError):
        qr.build(
            type_code="10",
            number="12345678",
            amount=Decimal("NaN"),
            issue_date=dt.date(2024, 1, 1),
        )


def _digits(n):
    return st.text(alphabet="0123456789", min_size=n, max_size=n)


_dates = st.dates(dt.date(2000, 1, 1), dt.date(2099, 12, 31))
_amounts = st.decimals(
    min_value=Decimal("-999999999.99"),
    max_value=Decimal("999999999.99"),
    places=2,
    allow_nan=False,
    allow_infinity=False,
)
_hex4 = st.text(alphabet="0123456789ABCDEFabcdef", min_size=4, max_size=4)
_legacy = st.builds(
    lambda t, code, number, amount, date, check, crc: qr.build(
        type_code=t,
        code=code,
        number=number,
        amount=amount,
        issue_date=date,
        check_code=check,
        crc=crc,
    ),
    st.sampled_from(["01", "03", "04", "08", "10", "11", "14", "15", "20"]),
    st.one_of(_digits(11).map("0".__add__), _digits(10)),
    _digits(8),
    _amounts,
    _dates,
    st.none() | _digits(20),
    st.none() | _hex4,
)
_digital = st.builds(
    lambda t, year, region, seq, amount, date, crc: qr.build(
        type_code=t,
        number=numbers.digital_number(year, region, 2, seq),
        amount=amount,
        issue_date=date,
        crc=crc,
    ),
    st.sampled_from(["31", "32"]),
    st.integers(2021, 2099),
    st.sampled_from(sorted(regions.PROVINCES)),
    st.integers(0, 10**15 - 1),
    _amounts,
    _dates,
    _hex4,
)


@settings(max_examples=100, deadline=None)
@given(_legacy | _digital)
def test_format_then_parse_is_identity(payload):
    assert qr.parse(qr.format(payload)) == payload
    assert qr.format(qr.parse(payload.raw)) == payload.raw


@settings(max_examples=150, deadline=None)
@given(_legacy | _digital, st.data())
def test_parse_is_tolerant_of_how_scanners_deliver_the_text(payload, data):
    text = payload.raw
    if data.draw(st.booleans()):
        text = text.replace(",", "，")
    if data.draw(st.booleans()):
        text = text.lower()
    if data.draw(st.booleans()):
        text = text.rstrip(",，") if text.endswith((",", "，")) else text + ","
    if data.draw(st.booleans()):
        text = re.sub(r"([,，])([,，])", r"\1 \2", text)  # empty fields as a space
    text = (
        data.draw(st.sampled_from(["", " ", "\n"]))
        + text
        + data.draw(st.sampled_from(["", "\r\n"]))
    )
    parsed = qr.parse(text)
    assert replace(parsed, raw=payload.raw) == payload


def test_digits_of_other_scripts_are_not_read_as_digits():
    p = qr.parse("01,10,०५०००१७००१११,99999951,300.00,20201010,14754822929856772523,E400,")
    assert p.code is None
    assert codes(p) == [ProblemCode.QR_FIELD_UNRECOGNIZED]
    assert p.problems[0].field == "code"
    with pytest.raises(qr.QrError):
        qr.parse("01,10,050001700111,९९९९९९५१,300.00,20201010,14754822929856772523,E400,")


@pytest.mark.parametrize(
    ("text", "field", "token"),
    [
        (
            "01,10,050001700111,99999951,300.00,20201010,1475482292985677252,E400,",
            "check_code",
            "1475482292985677252",
        ),
        (
            "01,10,050001700111,99999951,300.001,20201010,14754822929856772523,E400,",
            "amount",
            "300.001",
        ),
        (
            "01,10,050001700111,99999951,300.00,20201010,14754822929856772523,E400,XYZ",
            None,
            "XYZ",
        ),
        ("01,32,,24312000000136634917,0.01,20240514,,1DD6,1234", None, "1234"),
        (
            "01,1O,050001700111,99999951,300.00,20201010,14754822929856772523,E400,",
            "type_code",
            "1O",
        ),
    ],
)
def test_one_unrecognisable_field_is_a_warning_not_a_rejection(text, field, token):
    p = qr.parse(text)
    assert p.number in ("99999951", "24312000000136634917")
    assert p.issue_date in (dt.date(2020, 10, 10), dt.date(2024, 5, 14))
    assert codes(p) == [ProblemCode.QR_FIELD_UNRECOGNIZED]
    problem = p.problems[0]
    assert problem.is_warning and problem.field == field
    assert f"“{token}”" in problem.message and "无法识别" in problem.message
    if field is not None:
        assert getattr(p, field) is None  # the slot is left empty, not guessed


def test_unrecognisable_check_code_keeps_the_other_fields():
    p = qr.parse("01,10,050001700111,99999951,300.00,20201010,1475482292985677252,E400,")
    assert (p.code, p.amount, p.crc) == ("050001700111", Decimal("300.00"), "E400")
    assert p.raw.endswith("E400,")
    assert qr.format(p) == "01,10,050001700111,99999951,300.00,20201010,,E400,"


@pytest.mark.parametrize(
    "date_text", ["2020-10-10", "2020/10/10", "2020.10.10", "2020年10月10日", "2020-1-2"]
)
def test_date_with_separators_is_normalised_with_a_warning(date_text):
    p = qr.parse(f"01,10,050001700111,99999951,300.00,{date_text},14754822929856772523,E400,")
    expected = dt.date(2020, 1, 2) if date_text == "2020-1-2" else dt.date(2020, 10, 10)
    assert p.issue_date == expected
    assert codes(p) == [ProblemCode.QR_DATE_FORMAT]
    assert p.problems[0].is_warning and p.problems[0].field == "issue_date"
    assert f"“{date_text}”" in p.problems[0].message
    assert qr.format(p) == qr.format(
        qr.parse(f"01,10,050001700111,99999951,300.00,{expected:%Y%m%d},14754822929856772523,E400,")
    )


def test_two_unrecognisable_fields_are_two_warnings():
    p = qr.parse("01,10,050001700111,99999951,300.001,20201010,1475482292985677252,E400,")
    assert codes(p) == [ProblemCode.QR_FIELD_UNRECOGNIZED] * 2
    assert [x.field for x in p.problems] == ["amount", "check_code"]


@pytest.mark.parametrize(
    "text",
    [
        # number or date unrecognisable: still refused
        "01,10,050001700111,9999995,300.00,20201010,14754822929856772523,E400,",
        "01,10,050001700111,99999951,300.00,2020-13-10,14754822929856772523,E400,",
        "01,10,050001700111,99999951,300.00,20201010x,14754822929856772523,E400,",
        # three unrecognisable fields: not a damaged invoice payload any more
        "01,10,050001700111,99999951,300.001,20201010,1475482292985677252,E4000,",
    ],
)
def test_payload_without_recognisable_number_or_date_is_still_refused(text):
    with pytest.raises(qr.QrError) as caught:
        qr.parse(text)
    assert caught.value.problem.code in {ProblemCode.QR_MALFORMED, ProblemCode.QR_INCOMPLETE}


@pytest.mark.parametrize(
    "text",
    [
        "12,34,12345678,20200101,x",
        "02,10,050001700111,99999951,300.001,20201010,14754822929856772523,E400",
    ],
)
def test_unrecognisable_fields_are_tolerated_only_in_payloads_starting_01(text):
    with pytest.raises(qr.QrError) as caught:
        qr.parse(text)
    assert caught.value.problem.code == ProblemCode.QR_NOT_INVOICE


@settings(max_examples=100, deadline=None)
@given(_legacy | _digital, st.text(alphabet="GHJKWXYZ-", min_size=1, max_size=6))
def test_an_extra_trailing_field_only_adds_a_warning(payload, extra):
    text = payload.raw + ("" if payload.raw.endswith(",") else ",") + extra
    parsed = qr.parse(text)
    assert replace(parsed, raw=payload.raw, problems=payload.problems) == payload
    assert parsed.problems[0].code == ProblemCode.QR_FIELD_UNRECOGNIZED
    assert parsed.problems[0].field is None and f"“{extra}”" in parsed.problems[0].message
    assert parsed.problems[1:] == payload.problems
