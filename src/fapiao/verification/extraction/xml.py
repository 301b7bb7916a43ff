"""Invoice XML: the 数电 `EInvoice`, the legacy `eInvoice` (edrm.org.cn/schema/e-invoice/2019) and
the Ministry of Finance XBRL variant (`inv:` tags), read tolerantly.

A 数电 XML goes first through the platform's own reader (`parse_invoice_xml`); anything else, and
a 数电 XML that reader refuses, goes through `tree()`, a forgiving tokenizer that accepts what real
files contain: empty or odd prefixes (`<:eInvoice xmlns:="">`), CDATA, mismatched closing tags.
It never expands entities beyond the predefined and numeric ones, so DOCTYPE tricks (billion
laughs, external entities) cannot reach anything.
"""

from __future__ import annotations

import base64
import binascii
import html
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from fapiao.rules.text import normalize_code
from fapiao.verification.extraction import limits, values
from fapiao.verification.extraction.limits import fail
from fapiao.verification.extraction.result import Candidate, Found

MAX_NODES = 200_000

_TOKEN = re.compile(
    r"<!\[CDATA\[(?P<cdata>.*?)\]\]>"
    r"|<!--.*?-->"
    r"|<\?.*?\?>"
    r"|<!(?P<decl>[^>]*)>"
    r"|</(?P<close>[^\s>]*)\s*>"
    r"|<(?P<open>[^\s/>!?][^\s/>]*)(?P<attrs>(?:[^>\"']|\"[^\"]*\"|'[^']*')*?)(?P<empty>/?)>",
    re.S,
)
_ATTR = re.compile(r"([^\s=]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
_ENCODING = re.compile(rb"^\s*<\?xml[^>]*encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")

HEADER_TAGS: dict[str, tuple[str, ...]] = {
    "code": ("invoicecode", "codeofinvoice"),
    "number": ("invoiceno", "numberofinvoice", "invoicenumber"),
    "issue_date": ("issuedate", "dateofissue", "issuetime"),
    "check_code": ("invoicecheckcode", "identifyingcode", "checkcode"),
    "buyer_name": ("buyername", "nameofpurchaser"),
    "buyer_tax_id": (
        "buyertaxid",
        "buyeridnum",
        "taxpayeridentificationnumberunifiedsocialcreditcodeofpurchaser",
    ),
    "seller_name": ("sellername", "nameofseller"),
    "seller_tax_id": (
        "sellertaxid",
        "selleridnum",
        "taxpayeridentificationnumberunifiedsocialcreditcodeofseller",
    ),
    "amount": ("taxexclusivetotalamount", "totalamountexcludingtax", "totalamwithouttax"),
    "tax": ("taxtotalamount", "totaltaxamount", "totaltaxam"),
    "total": ("taxinclusivetotalamount", "taxincludedamountinfigures", "totaltax-includedamount"),
    "total_words": ("taxincludedamountinwords", "totaltax-includedamountinchinese"),
    "graph_code": ("graphcode",),
    "title": ("typeofinvoice",),
    "eiid": ("eiid",),
    "request_time": ("requesttime",),
    "vat_kind": ("generalorspecialvat",),
}
ITEM_CONTAINERS = frozenset(
    {"goodsinfo", "issuiteminformation", "informationoftaxablegoodsorservicesdetailitemstuple"}
)
ITEM_TAGS: dict[str, tuple[str, ...]] = {
    "name": ("item", "itemname", "nameoftaxablegoodsorservices"),
    "spec": ("specification", "specmod"),
    "unit": ("measurementdimension", "meaunits", "unitofgoodsorservices"),
    "quantity": ("quantity", "quantityofgoodsorservices"),
    "unit_price": ("price", "unprice", "unitpriceofgoodsorservices"),
    "amount": ("amount", "amountexcludingtax"),
    "tax_rate": ("taxscheme", "taxrate"),
    "tax": ("taxamount", "comtaxam"),
}


@dataclass
class Node:
    tag: str  # local name as written (prefix removed)
    attrs: dict[str, str] = field(default_factory=dict)
    children: list[Node] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.tag.lower()

    @property
    def text(self) -> str:
        return "".join(self.parts).strip()

    def iter(self) -> Iterator[Node]:
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))


def decode(data: bytes) -> str:
    """Bytes to text: BOM, then the declared encoding (GBK happens), then UTF-8 with repair."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    declared = _ENCODING.match(data[:200])
    if declared:
        try:
            return data.decode(declared.group(1).decode("ascii"), errors="replace")
        except LookupError:
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("gb18030", errors="replace")


def tree(data: bytes | str) -> Node:
    """A forgiving parse into Nodes under a synthetic root `#document`."""
    text = decode(data) if isinstance(data, bytes | bytearray) else data
    document = Node("#document")
    stack = [document]
    position = 0
    count = 0
    for token in _TOKEN.finditer(text):
        if token.start() > position:
            stack[-1].parts.append(html.unescape(text[position : token.start()]))
        position = token.end()
        if token.group("cdata") is not None:
            stack[-1].parts.append(token.group("cdata"))
        elif token.group("close") is not None:
            name = _local(token.group("close"))
            for depth in range(len(stack) - 1, 0, -1):
                if stack[depth].tag == name:
                    del stack[depth:]
                    break
        elif token.group("open") is not None:
            count += 1
            if count > MAX_NODES:
                raise fail("xml_invalid", detail=f"元素过多（超过 {MAX_NODES} 个）")
            attrs = {
                _local(m.group(1)): html.unescape(
                    m.group(2) if m.group(2) is not None else m.group(3)
                )
                for m in _ATTR.finditer(token.group("attrs") or "")
            }
            node = Node(_local(token.group("open")), attrs)
            stack[-1].children.append(node)
            if not token.group("empty"):
                stack.append(node)
    if position < len(text):
        stack[-1].parts.append(html.unescape(text[position:]))
    return document


def root_of(document: Node) -> Node | None:
    return next((c for c in document.children), None)


def _local(tag: str) -> str:
    return tag.rsplit(":", 1)[-1].rsplit("}", 1)[-1]


# Mapping ------------------------------------------------------------------------------------------


ValueOf = Callable[[Node], str]


def plain_value(node: Node) -> str:
    return node.text


def read_fields(root: Node, value_of: ValueOf = plain_value) -> dict[str, Any]:
    """Header fields and lines of an invoice XML (or a custom tag file), as raw text."""
    wanted = {tag: name for name, tags in HEADER_TAGS.items() for tag in tags}
    found: dict[str, str] = {}
    lines: list[dict[str, str | None]] = []

    def walk(node: Node, in_item: bool) -> None:
        for child in node.children:
            key = child.key
            if key in ITEM_CONTAINERS:
                line = _read_item(child, value_of)
                if any(line.values()):
                    lines.append(line)
                continue
            name = wanted.get(key)
            if name and not in_item and name not in found:
                value = value_of(child).strip()
                if name == "vat_kind":
                    label = next((c for c in child.children if c.key == "labelcode"), None)
                    value = label.text if label else value
                if value:
                    found[name] = value
                    continue
            walk(child, in_item)

    walk(root, False)
    result: dict[str, Any] = dict(found)
    result["lines"] = lines
    return result


def _read_item(item: Node, value_of: ValueOf) -> dict[str, str | None]:
    line: dict[str, str | None] = dict.fromkeys(ITEM_TAGS)
    for node in item.iter():
        for name, tags in ITEM_TAGS.items():
            if node.key in tags and line[name] is None:
                value = value_of(node).strip()
                line[name] = value or None
    return line


def candidate_fields(raw: dict[str, Any]) -> dict[str, Any]:
    """Raw text fields → typed candidate fields (dates, Decimals, normalised codes)."""
    fields: dict[str, Any] = {}
    code = values.digits(raw.get("code"))
    number = values.digits(raw.get("number")) or values.digits(raw.get("eiid"))
    if len(code) in (10, 12):
        fields["code"] = code
    if len(number) in (8, 20):
        fields["number"] = number
    issue_date = values.parse_date(raw.get("issue_date")) or values.parse_date(
        raw.get("request_time")
    )
    if issue_date:
        fields["issue_date"] = issue_date
    check = values.digits(raw.get("check_code"))
    if len(check) >= 6:
        fields["check_code"] = check
    for key in ("buyer_name", "seller_name"):
        if raw.get(key):
            fields[key] = values.clean(raw[key])
    for key in ("buyer_tax_id", "seller_tax_id"):
        tax_id = values.tax_id(raw.get(key))
        if tax_id:
            fields[key] = tax_id
    for key in ("amount", "tax", "total"):
        value = values.parse_money(raw.get(key))
        if value is None and key == "tax" and "***" in (raw.get(key) or ""):
            value = values.parse_money("0")
        if value is not None:
            fields[key] = value
    if "total" not in fields:
        words = values.parse_capital(raw.get("total_words"))
        if words is not None:
            fields["total"] = words
    type_code = values.title_type(raw.get("title"))
    if not type_code and raw.get("vat_kind") and len(fields.get("number", "")) == 20:
        type_code = {"01": "31", "02": "32"}.get(normalize_code(raw["vat_kind"]))
    if type_code:
        fields["type_code"] = type_code
    lines = [_typed_line(line) for line in raw.get("lines") or []]
    if lines:
        fields["lines"] = lines
    return fields


def _typed_line(line: dict[str, str | None]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for key, value in line.items():
        if key in ("amount", "tax"):
            out[key] = values.money_str(values.parse_money(value))
        elif key in ("quantity", "unit_price", "tax_rate"):
            out[key] = values.plain_number(value)
        else:
            out[key] = values.clean(value) or None
    return out


def graph_code_text(raw: str | None) -> tuple[str | None, bytes | None]:
    """The GraphCode element: QR payload text, or (rarely) a base64 image of the QR code."""
    text = (raw or "").strip()
    if not text:
        return None, None
    if "," in text:
        return text, None
    if text.startswith(("iVBOR", "/9j/", "R0lGOD", "Qk")) and len(text) < 4 * limits.MAX_FILE_BYTES:
        try:
            return None, base64.b64decode(text, validate=False)
        except (binascii.Error, ValueError):
            return None, None
    return None, None


# Files --------------------------------------------------------------------------------------------


def structured(
    data: bytes, source: str, where: str = ""
) -> tuple[Candidate | None, dict[str, Any]]:
    """An invoice XML's candidate (None if it is no invoice XML) and its raw fields."""
    if len(data) > limits.MAX_XML_BYTES:
        raise fail("xml_invalid", detail=f"XML 过大（{limits.human_size(len(data))}）")
    document = tree(data)
    root = root_of(document)
    if root is None:
        return None, {}
    if root.key == "einvoice" and any(c.key == "einvoicedata" for c in root.children):
        parsed = _platform_reader(data)
        if parsed is not None:
            raw = read_fields(root)
            return Candidate(source, parsed, where=where), raw
    raw = read_fields(root)
    fields = candidate_fields(raw)
    if "number" not in fields:
        return None, raw
    return Candidate(source, fields, where=where), raw


def _platform_reader(data: bytes) -> dict[str, Any] | None:
    """The platform's own 数电 XML reader, when Django is set up and the file is well-formed."""
    try:
        from fapiao.invoices.documents import InvoiceXmlError, parse_invoice_xml
    except Exception:  # Django not configured: the tolerant reader does the job
        return None
    try:
        parsed = parse_invoice_xml(bytes(data))
    except InvoiceXmlError:
        return None
    fields: dict[str, Any] = {
        "type_code": parsed.get("type_code") or None,
        "code": parsed.get("code") or None,
        "number": parsed.get("number"),
        "issue_date": parsed.get("issue_date"),
        "amount": parsed.get("amount"),
        "tax": parsed.get("tax"),
        "total": parsed.get("total"),
        "seller_name": parsed.get("seller_name") or None,
        "seller_tax_id": parsed.get("seller_tax_id") or None,
        "buyer_name": parsed.get("buyer_name") or None,
        "buyer_tax_id": parsed.get("buyer_tax_id") or None,
    }
    lines = []
    for line in parsed.get("lines") or []:
        rate = line.get("rate")
        lines.append(
            {
                "name": line.get("name") or None,
                "spec": line.get("spec") or None,
                "unit": line.get("unit") or None,
                "quantity": _plain(line.get("quantity")),
                "unit_price": _plain(line.get("unit_price")),
                "amount": values.money_str(line.get("amount")),
                "tax_rate": (
                    line.get("exemption") or None
                    if line.get("exemption")
                    else (None if rate is None else f"{rate * 100:.10g}%")
                ),
                "tax": values.money_str(line.get("tax")),
            }
        )
    if lines:
        fields["lines"] = lines
    return {k: v for k, v in fields.items() if v not in (None, "")}


def _plain(value: Any) -> str | None:
    if value is None:
        return None
    text = f"{value.normalize():f}" if hasattr(value, "normalize") else str(value)
    return "0" if text in ("-0", "0") else text


def extract(data: bytes, budget: limits.Budget) -> Found:
    """A standalone XML file: the invoice it holds, or `not_invoice` / `xml_invalid`."""
    candidate, raw = structured(data, "xml")
    if candidate is None:
        root = root_of(tree(data)) if len(data) <= limits.MAX_XML_BYTES else None
        name = root.tag if root is not None else "?"
        raise fail(
            "not_invoice", detail=f"XML 的根元素为 <{name}>，不是发票 XML（数电 EInvoice 等）"
        )
    found = [candidate]
    text, _image = graph_code_text(raw.get("graph_code"))
    if text:
        from fapiao.verification.extraction import qrcode

        payload = qrcode.parse_payload(text)
        if payload is not None:
            found.append(qrcode.candidate(payload, "graph_code", "GraphCode"))
    budget.check()
    return Found(candidates=found, has_text=True)
