"""Invoice type codes, per channel: the same two digits mean different things in each.

`01` is a paper 增值税专用发票 in a QR code but a 数电 专票 in the 数电 XML; `51` and `61` live in
the 税务数字账户 APIs. Never look a code up without its channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Channel(StrEnum):
    QR = "qr"  # invoice QR code and the national verification platform (查验平台)
    ACCOUNT = "account"  # 税务数字账户 / 进项 APIs
    XML = "xml"  # 数电 XML, Header/InherentLabel/GeneralOrSpecialVAT


class VerificationInput(StrEnum):
    """The extra field the 查验平台 asks for, besides code (none for 数电), number and date."""

    AMOUNT = "amount"  # 金额, excluding tax
    CHECK_CODE_LAST6 = "check_code_last6"  # last six digits of the 校验码
    TOTAL = "total"  # 价税合计, including tax


@dataclass(frozen=True, slots=True)
class InvoiceType:
    channel: Channel
    code: str
    name: str
    short_name: str
    is_digital: bool  # 数电 (全面数字化的电子发票)
    is_special: bool  # 专票: input VAT deductible on its face
    is_electronic: bool
    is_paper: bool


def _t(
    channel: Channel,
    code: str,
    name: str,
    short: str,
    *,
    digital: bool = False,
    special: bool = False,
    electronic: bool = False,
) -> InvoiceType:
    return InvoiceType(channel, code, name, short, digital, special, electronic, not electronic)


_QR = Channel.QR
_ACC = Channel.ACCOUNT
_XML = Channel.XML

_TABLE: dict[Channel, dict[str, InvoiceType]] = {
    _QR: {
        t.code: t
        for t in (
            _t(_QR, "01", "增值税专用发票", "专票", special=True),
            _t(_QR, "02", "货物运输业增值税专用发票", "货运专票", special=True),
            _t(_QR, "03", "机动车销售统一发票", "机动车"),
            _t(_QR, "04", "增值税普通发票", "普票"),
            _t(_QR, "08", "增值税电子专用发票", "电子专票", special=True, electronic=True),
            _t(_QR, "10", "增值税电子普通发票", "电子普票", electronic=True),
            _t(_QR, "11", "增值税普通发票（卷票）", "卷票"),
            _t(_QR, "14", "增值税电子普通发票（通行费）", "通行费", electronic=True),
            _t(_QR, "15", "二手车销售统一发票", "二手车"),
            # 20 is what real 电子专票 QR codes carry (../realdata, 贵州 052002100113).
            _t(_QR, "20", "增值税电子专用发票", "电子专票", special=True, electronic=True),
            _t(
                _QR,
                "31",
                "电子发票（增值税专用发票）",
                "数电专票",
                digital=True,
                special=True,
                electronic=True,
            ),
            _t(_QR, "32", "电子发票（普通发票）", "数电普票", digital=True, electronic=True),
            # 51 on the QR channel is inferred from the 税务数字账户 code; no real QR seen yet.
            _t(
                _QR, "51", "电子发票（铁路电子客票）", "铁路电子客票", digital=True, electronic=True
            ),
        )
    },
    _ACC: {
        t.code: t
        for t in (
            _t(
                _ACC,
                "81",
                "电子发票（增值税专用发票）",
                "数电专票",
                digital=True,
                special=True,
                electronic=True,
            ),
            _t(_ACC, "82", "电子发票（普通发票）", "数电普票", digital=True, electronic=True),
            _t(
                _ACC, "85", "纸质发票（增值税专用发票）", "数电纸质专票", digital=True, special=True
            ),
            _t(_ACC, "86", "纸质发票（普通发票）", "数电纸质普票", digital=True),
            _t(
                _ACC,
                "61",
                "电子发票（航空运输电子客票行程单）",
                "航空行程单",
                digital=True,
                electronic=True,
            ),
            _t(
                _ACC,
                "51",
                "电子发票（铁路电子客票）",
                "铁路电子客票",
                digital=True,
                electronic=True,
            ),
        )
    },
    _XML: {
        t.code: t
        for t in (
            _t(
                _XML,
                "01",
                "电子发票（增值税专用发票）",
                "数电专票",
                digital=True,
                special=True,
                electronic=True,
            ),
            _t(_XML, "02", "电子发票（普通发票）", "数电普票", digital=True, electronic=True),
        )
    },
}

# Codes that denote the same document across channels; only these conversions are defined.
_SAME: tuple[dict[Channel, str], ...] = (
    {_QR: "31", _ACC: "81", _XML: "01"},
    {_QR: "32", _ACC: "82", _XML: "02"},
    {_QR: "51", _ACC: "51"},
)

_VERIFICATION: dict[str, VerificationInput] = {
    "01": VerificationInput.AMOUNT,
    "02": VerificationInput.AMOUNT,
    "03": VerificationInput.AMOUNT,
    "08": VerificationInput.AMOUNT,
    "20": VerificationInput.AMOUNT,
    "04": VerificationInput.CHECK_CODE_LAST6,
    "10": VerificationInput.CHECK_CODE_LAST6,
    "11": VerificationInput.CHECK_CODE_LAST6,
    "14": VerificationInput.CHECK_CODE_LAST6,
    # 二手车 asks for 车价合计 (inferred from the platform's form, not from docs/domain.md).
    "15": VerificationInput.TOTAL,
    "31": VerificationInput.TOTAL,
    "32": VerificationInput.TOTAL,
    "51": VerificationInput.TOTAL,
}


def lookup(channel: Channel | str, code: str) -> InvoiceType | None:
    table = _TABLE.get(Channel(channel))
    return table.get(code.strip()) if table else None


def name(channel: Channel | str, code: str) -> str | None:
    t = lookup(channel, code)
    return t.name if t else None


def all_types(channel: Channel | str) -> list[InvoiceType]:
    return list(_TABLE[Channel(channel)].values())


def convert(invoice_type: InvoiceType, to: Channel | str) -> InvoiceType | None:
    """The same document's type on another channel, where that is well defined (81 ↔ 31)."""
    target = Channel(to)
    if invoice_type.channel is target:
        return invoice_type
    for same in _SAME:
        if same.get(invoice_type.channel) == invoice_type.code and target in same:
            return _TABLE[target][same[target]]
    return None


def convert_code(from_channel: Channel | str, code: str, to: Channel | str) -> str | None:
    t = lookup(from_channel, code)
    converted = convert(t, to) if t else None
    return converted.code if converted else None


def verification_inputs(invoice_type: InvoiceType | str) -> VerificationInput | None:
    """What the 查验平台 asks for besides code, number and date; None if it does not verify it.

    A str is taken as a QR-channel code. Types of other channels are first converted to QR.
    """
    if isinstance(invoice_type, str):
        qr_type = lookup(Channel.QR, invoice_type)
    else:
        qr_type = convert(invoice_type, Channel.QR)
    return _VERIFICATION.get(qr_type.code) if qr_type else None
