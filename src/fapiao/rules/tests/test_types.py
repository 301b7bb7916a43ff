import pytest

from fapiao.rules import types
from fapiao.rules.types import Channel, VerificationInput


def test_same_code_means_different_types_per_channel():
    assert types.name(Channel.QR, "01") == "增值税专用发票"
    assert types.name(Channel.XML, "01") == "电子发票（增值税专用发票）"
    assert types.lookup(Channel.ACCOUNT, "01") is None
    assert types.lookup(Channel.QR, "81") is None


@pytest.mark.parametrize(
    ("channel", "code", "digital", "special", "electronic"),
    [
        ("qr", "01", False, True, False),
        ("qr", "04", False, False, False),
        ("qr", "08", False, True, True),
        ("qr", "10", False, False, True),
        ("qr", "20", False, True, True),
        ("qr", "31", True, True, True),
        ("qr", "32", True, False, True),
        ("account", "81", True, True, True),
        ("account", "85", True, True, False),
        ("account", "86", True, False, False),
        ("account", "61", True, False, True),
        ("xml", "02", True, False, True),
    ],
)
def test_type_flags(channel, code, digital, special, electronic):
    t = types.lookup(channel, code)
    assert t is not None
    assert (t.is_digital, t.is_special, t.is_electronic, t.is_paper) == (
        digital,
        special,
        electronic,
        not electronic,
    )


def test_every_brief_code_is_present():
    qr_codes = {t.code for t in types.all_types("qr")}
    assert {
        "01",
        "02",
        "03",
        "04",
        "08",
        "10",
        "11",
        "14",
        "15",
        "20",
        "31",
        "32",
        "51",
    } <= qr_codes
    assert {t.code for t in types.all_types("account")} == {"81", "82", "85", "86", "61", "51"}
    assert {t.code for t in types.all_types("xml")} == {"01", "02"}


@pytest.mark.parametrize(
    ("src", "code", "dst", "expected"),
    [
        ("account", "81", "qr", "31"),
        ("account", "82", "qr", "32"),
        ("qr", "31", "account", "81"),
        ("qr", "32", "xml", "02"),
        ("xml", "01", "account", "81"),
        ("account", "51", "qr", "51"),
        ("qr", "10", "qr", "10"),
    ],
)
def test_conversions_between_channels(src, code, dst, expected):
    assert types.convert_code(src, code, dst) == expected


@pytest.mark.parametrize(
    ("src", "code", "dst"),
    [("qr", "01", "xml"), ("account", "85", "qr"), ("account", "61", "qr"), ("qr", "99", "xml")],
)
def test_conversions_undefined_where_no_equivalent(src, code, dst):
    assert types.convert_code(src, code, dst) is None


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("01", VerificationInput.AMOUNT),
        ("03", VerificationInput.AMOUNT),
        ("08", VerificationInput.AMOUNT),
        ("20", VerificationInput.AMOUNT),
        ("04", VerificationInput.CHECK_CODE_LAST6),
        ("10", VerificationInput.CHECK_CODE_LAST6),
        ("11", VerificationInput.CHECK_CODE_LAST6),
        ("14", VerificationInput.CHECK_CODE_LAST6),
        ("31", VerificationInput.TOTAL),
        ("32", VerificationInput.TOTAL),
        ("99", None),
    ],
)
def test_verification_inputs_per_qr_type(code, expected):
    assert types.verification_inputs(code) == expected


def test_verification_inputs_converts_other_channels_first():
    assert types.verification_inputs(types.lookup("account", "81")) == VerificationInput.TOTAL
    assert types.verification_inputs(types.lookup("xml", "02")) == VerificationInput.TOTAL
    assert types.verification_inputs(types.lookup("account", "85")) is None


def test_unknown_channel_is_an_error():
    with pytest.raises(ValueError):
        types.lookup("fax", "01")
