"""An invoice as 数电 XML (root `EInvoice`), and reading such XML back.

Element names follow the tax bureau's files as users download them (docs/domain.md §6; real
files seen in public repositories): `Header` (EIid, EInvoiceTag, Version, InherentLabel),
`EInvoiceData` (SellerInformation, BuyerInformation, BasicInformation, IssuItemInformation*,
SpecificInformation/RedEInvoice for a red invoice, AdditionalInformation/Remark) and
`TaxSupervisionInfo`. The detached SM2/SM3 signature of the real files is not produced: only
the tax bureau can sign.

Inferred, not confirmed by a real file: EInvoiceType 01 电子发票; TaxpayerType 01 一般纳税人 /
02 小规模纳税人 (from the line rates); TaxRate printed as 免税/不征税 for such lines; the
InvoiceCode element, only for legacy invoices (a platform extension: 数电 have no code).

parse_invoice_xml refuses any DOCTYPE: 数电 XML never has one, and refusing it removes entity
expansion (billion laughs) and external entities (XXE) without a third-party parser.
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from xml.parsers import expat

from fapiao.invoices.documents import common
from fapiao.invoices.models import Invoice, InvoiceLine
from fapiao.rules import rmb, tax, types
from fapiao.rules.types import Channel

VERSION = "0.32"
MAX_BYTES = 5 * 1024 * 1024  # a 数电 XML is a few kilobytes; a thousand lines stay far below
_PARTY_FIELDS = (  # model suffix, element suffix
    ("tax_id", "IdNum"),
    ("name", "Name"),
    ("address", "Addr"),
    ("phone", "TelNum"),
    ("bank_name", "BankName"),
    ("bank_account", "BankAccNum"),
)
_LEVY_RATES = {r.value for r in tax.RATES if r.kind is tax.RateKind.LEVY}
_BLUE_NUMBER = re.compile(r"被红冲蓝字数电(?:发)?票号码[:：]\s*([0-9]{20})")
_CREDIT_NOTE = re.compile(r"红字发票信息确认单编号[:：]\s*([0-9A-Za-z]+)")


class InvoiceXmlError(ValueError):
    """The bytes are not an invoice XML this platform accepts; the message says why, in Chinese."""


def invoice_xml(invoice: Invoice, *, lines: Iterable[InvoiceLine] | None = None) -> bytes:
    """The invoice as UTF-8 数电 XML with an XML declaration."""
    items = common.invoice_lines(invoice, lines)
    root = ET.Element("EInvoice")
    _header(ET.SubElement(root, "Header"), invoice, items)
    data = ET.SubElement(root, "EInvoiceData")
    for side, element in (("seller", "Seller"), ("buyer", "Buyer")):
        party = ET.SubElement(data, f"{element}Information")
        for field, suffix in _PARTY_FIELDS:
            _leaf(party, f"{element}{suffix}", getattr(invoice, f"{side}_{field}"))
    basic = ET.SubElement(data, "BasicInformation")
    _leaf(basic, "TotalAmWithoutTax", common.money(invoice.amount))
    _leaf(basic, "TotalTaxAm", common.money(invoice.tax))
    _leaf(basic, "TotalTax-includedAmount", common.money(invoice.total))
    _leaf(basic, "TotalTax-includedAmountInChinese", rmb.capital(invoice.total))
    _leaf(basic, "Drawer", invoice.drawer)
    _leaf(basic, "RequestTime", f"{common.local_issued_at(invoice):%Y-%m-%d %H:%M:%S}")
    for line in items:
        _item(ET.SubElement(data, "IssuItemInformation"), line)
    if invoice.is_red:
        red = ET.SubElement(ET.SubElement(data, "SpecificInformation"), "RedEInvoice")
        blue = invoice.original.number if invoice.original_id else _found(_BLUE_NUMBER, invoice)
        _leaf(red, "OriginalInvoiceCode", blue)  # the real files name the blue number so
        _leaf(red, "CreditNoteNumber", _found(_CREDIT_NOTE, invoice))
    _leaf(ET.SubElement(data, "AdditionalInformation"), "Remark", invoice.remarks)
    supervision = ET.SubElement(root, "TaxSupervisionInfo")
    if invoice.code:
        _leaf(supervision, "InvoiceCode", invoice.code)
    _leaf(supervision, "InvoiceNumber", invoice.number)
    _leaf(supervision, "IssueTime", invoice.issue_date.isoformat())
    region = common.region(invoice)
    _leaf(supervision, "TaxBureauCode", f"1{region.code.ljust(4, '0')}000000" if region else "")
    _leaf(supervision, "TaxBureauName", f"国家税务总局{region.name}税务局" if region else "")
    ET.indent(root, space="  ")
    return (
        ET.tostring(root, encoding="UTF-8", xml_declaration=True, short_empty_elements=False)
        + b"\n"
    )


def _header(header: ET.Element, invoice: Invoice, items: list[InvoiceLine]) -> None:
    _leaf(header, "EIid", invoice.number)
    region = common.region(invoice)
    _leaf(header, "EInvoiceTag", f"SWEI{region.code.ljust(4, '0')}" if region else "SWEI")
    _leaf(header, "Version", VERSION)
    labels = ET.SubElement(header, "InherentLabel")
    _label(labels, "InIssuType", "N" if invoice.is_red else "Y", "是否蓝字发票标志")
    kind = common.invoice_type(invoice)
    if common.is_digital(invoice):
        _label(labels, "EInvoiceType", "01", "电子发票")
    else:  # legacy: the QR-channel type, so the record reads back as it was
        _label(labels, "EInvoiceType", invoice.type_code, kind.name if kind else "")
    special = bool(kind and kind.is_special)
    _label(
        labels,
        "GeneralOrSpecialVAT",
        *(("01", "增值税专用发票") if special else ("02", "普通发票")),
    )
    small = bool(items) and all(line.rate in _LEVY_RATES for line in items)
    _label(labels, "TaxpayerType", *(("02", "小规模纳税人") if small else ("01", "一般纳税人")))


def _item(element: ET.Element, line: InvoiceLine) -> None:
    flag = common.exemption(line)
    _leaf(element, "ItemName", line.name)
    _leaf(element, "SpecMod", line.spec)
    _leaf(element, "MeaUnits", line.unit)
    _leaf(element, "Quantity", common.plain(line.quantity))
    _leaf(element, "UnPrice", common.plain(line.unit_price))
    _leaf(element, "Amount", common.money(line.amount))
    if flag in (tax.TaxExemption.EXEMPT, tax.TaxExemption.NOT_TAXABLE):
        _leaf(element, "TaxRate", flag.label)
    else:
        _leaf(element, "TaxRate", _rate(line.rate))
    _leaf(element, "ComTaxAm", common.money(line.tax))
    _leaf(element, "TotaltaxIncludedAmount", common.money(line.amount + line.tax))
    _leaf(element, "TaxClassificationCode", line.tax_code)


def _label(parent: ET.Element, name: str, code: str, label: str) -> None:
    element = ET.SubElement(parent, name)
    _leaf(element, "LabelCode", code)
    _leaf(element, "LabelName", label)


def _leaf(parent: ET.Element, name: str, text: str) -> None:
    ET.SubElement(parent, name).text = text or ""


def _rate(rate: Decimal) -> str:
    """0.13 → '0.13', 0.015 → '0.015', 0 → '0.00': at least two decimals, as the real files."""
    text = f"{rate.normalize():f}"
    whole, _, fraction = text.partition(".")
    return f"{whole}.{fraction.ljust(2, '0')}"


def _found(pattern: re.Pattern[str], invoice: Invoice) -> str:
    match = pattern.search(invoice.remarks)
    return match.group(1) if match else ""


# Reading --------------------------------------------------------------------------------------


def parse_invoice_xml(data: bytes) -> dict:
    """Number, date, type, parties, totals, remarks and lines of a 数电 XML, keyed like the model.

    Amounts are Decimal. Raises InvoiceXmlError for hostile or malformed XML, for a root other
    than EInvoice, and for a file without an invoice number or a readable date.
    """
    root = _parse_tree(data)
    if _local(root.tag) != "EInvoice":
        raise InvoiceXmlError(f"不是数电发票 XML：根元素是 {_local(root.tag)}，应为 EInvoice")
    number = _text(root, "TaxSupervisionInfo/InvoiceNumber") or _text(root, "Header/EIid")
    if not number:
        raise InvoiceXmlError("XML 中没有发票号码（TaxSupervisionInfo/InvoiceNumber）")
    request_time = _text(root, "EInvoiceData/BasicInformation/RequestTime")
    issue_date = _date(_text(root, "TaxSupervisionInfo/IssueTime") or request_time)
    code = _text(root, "TaxSupervisionInfo/InvoiceCode")
    labels = "Header/InherentLabel"
    if code:
        type_code = _text(root, f"{labels}/EInvoiceType/LabelCode")
    else:
        vat = _text(root, f"{labels}/GeneralOrSpecialVAT/LabelCode")
        type_code = (types.convert_code(Channel.XML, vat, Channel.QR) if vat else None) or ""
    basic = "EInvoiceData/BasicInformation"
    result: dict = {
        "type_code": type_code,
        "code": code,
        "number": number,
        "issue_date": issue_date,
        "issued_at": _datetime(request_time),
        "is_red": _text(root, f"{labels}/InIssuType/LabelCode") == "N",
        "original_number": _text(
            root, "EInvoiceData/SpecificInformation/RedEInvoice/OriginalInvoiceCode"
        ),
        "amount": _decimal(_text(root, f"{basic}/TotalAmWithoutTax"), "TotalAmWithoutTax"),
        "tax": _decimal(_text(root, f"{basic}/TotalTaxAm"), "TotalTaxAm"),
        "total": _decimal(
            _text(root, f"{basic}/TotalTax-includedAmount"), "TotalTax-includedAmount"
        ),
        "total_in_words": _text(root, f"{basic}/TotalTax-includedAmountInChinese"),
        "drawer": _text(root, f"{basic}/Drawer"),
        "remarks": _text(root, "EInvoiceData/AdditionalInformation/Remark"),
    }
    for side, element in (("seller", "Seller"), ("buyer", "Buyer")):
        for field, suffix in _PARTY_FIELDS:
            path = f"EInvoiceData/{element}Information/{element}{suffix}"
            result[f"{side}_{field}"] = _text(root, path)
    result["lines"] = [
        _parse_item(item, position)
        for position, item in enumerate(_children(root, "EInvoiceData", "IssuItemInformation"), 1)
    ]
    return result


def _parse_item(item: ET.Element, position: int) -> dict:
    rate_text = _text(item, "TaxRate")
    try:
        rate, flag = tax.parse_rate_or_exemption(rate_text) if rate_text else (Decimal(0), None)
    except ValueError as error:
        raise InvoiceXmlError(f"第 {position} 行的税率“{rate_text}”无法识别") from error
    return {
        "position": position,
        "name": _text(item, "ItemName"),
        "spec": _text(item, "SpecMod"),
        "unit": _text(item, "MeaUnits"),
        "quantity": _optional_decimal(_text(item, "Quantity"), "Quantity"),
        "unit_price": _optional_decimal(_text(item, "UnPrice"), "UnPrice"),
        "amount": _decimal(_text(item, "Amount"), "Amount"),
        "rate": rate,
        "tax": _decimal(_text(item, "ComTaxAm"), "ComTaxAm"),
        "exemption": "" if flag in (None, tax.TaxExemption.NONE) else flag.value,
        "tax_code": _text(item, "TaxClassificationCode"),
    }


def _parse_tree(data: bytes) -> ET.Element:
    """ElementTree from bytes through expat, refusing DOCTYPE and entity declarations."""
    if not isinstance(data, bytes | bytearray):
        raise InvoiceXmlError("XML 必须以字节传入")
    if len(data) > MAX_BYTES:
        raise InvoiceXmlError(f"XML 过大（{len(data)} 字节，上限 {MAX_BYTES} 字节）")

    def refuse(*_args: object) -> None:
        raise InvoiceXmlError("XML 含有 DOCTYPE 或实体声明，可能是恶意文件，已拒绝")

    builder = ET.TreeBuilder()
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.UnparsedEntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    parser.buffer_text = True
    try:
        parser.Parse(bytes(data), True)
        return builder.close()
    except expat.ExpatError as error:
        raise InvoiceXmlError(f"XML 格式错误：{error}") from error
    except AssertionError as error:  # TreeBuilder: unbalanced or empty document
        raise InvoiceXmlError("XML 内容不完整") from error


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1]


def _find(element: ET.Element, path: str) -> ET.Element | None:
    """Like Element.find, ignoring namespaces and prefixes on the way."""
    current: ET.Element | None = element
    for step in path.split("/"):
        if current is None:
            return None
        current = next((c for c in current if _local(c.tag) == step), None)
    return current


def _children(root: ET.Element, parent: str, name: str) -> list[ET.Element]:
    found = _find(root, parent)
    return [] if found is None else [c for c in found if _local(c.tag) == name]


def _text(element: ET.Element, path: str) -> str:
    found = _find(element, path)
    return (found.text or "").strip() if found is not None else ""


def _decimal(text: str, name: str) -> Decimal:
    value = _optional_decimal(text, name)
    if value is None:
        raise InvoiceXmlError(f"XML 中缺少金额 {name}")
    return value


def _optional_decimal(text: str, name: str) -> Decimal | None:
    if not text:
        return None
    try:
        value = Decimal(text.replace(",", ""))
    except InvalidOperation as error:
        raise InvoiceXmlError(f"{name}“{text}”不是数字") from error
    if not value.is_finite():
        raise InvoiceXmlError(f"{name}“{text}”不是数字")
    return value


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError as error:
        raise InvoiceXmlError(f"开票日期“{text}”无法识别（应为 YYYY-MM-DD）") from error


def _datetime(text: str) -> dt.datetime | None:
    """RequestTime as written (local time of the issuing system), naive; None when absent."""
    try:
        return dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
