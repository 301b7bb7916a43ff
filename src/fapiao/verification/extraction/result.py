"""The shapes of extraction: what each source found (`Candidate`) and the merged `Extraction`."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

# The keys of `Extraction.invoice`, in order.
INVOICE_KEYS = (
    "type_code",
    "code",
    "number",
    "issue_date",
    "amount",
    "tax",
    "total",
    "check_code",
    "seller_name",
    "seller_tax_id",
    "buyer_name",
    "buyer_tax_id",
    "lines",
    "sources",
    "conflicts",
)
FIELDS = INVOICE_KEYS[:-2]
LINE_KEYS = ("name", "spec", "unit", "quantity", "unit_price", "amount", "tax_rate", "tax")

# Sources, best first. Embedded structured data beats the QR code, which beats the text layer,
# which beats OCR.
SOURCE_RANK = {
    "xml": 0,  # a 数电 or other invoice XML file itself
    "ofd_attachment": 0,  # Doc_0/Attachs/*.xml inside an OFD
    "ofd_custom_tag": 1,  # Doc_0/Tags/*.xml: fields mapped to the page's text objects
    "ofd_custom_data": 1,  # OFD.xml DocInfo/CustomDatas: 发票号码, 合计金额, ... by name
    "graph_code": 1,  # the QR payload written as text (GraphCode) in the invoice's XML
    "qr": 2,  # a QR code decoded from a rendered page or an image
    "pdf_text": 3,
    "ofd_text": 3,
    "ocr": 4,
    "computed": 5,  # total = amount + tax and the like, where a source gave two of three
}
SOURCE_LABELS = {
    "xml": "XML 文件",
    "ofd_attachment": "OFD 内嵌 XML",
    "ofd_custom_tag": "OFD 自定义标签",
    "ofd_custom_data": "OFD 文档元数据",
    "graph_code": "XML 中的二维码数据",
    "qr": "二维码",
    "pdf_text": "PDF 文字层",
    "ofd_text": "OFD 版面文字",
    "ocr": "OCR",
    "computed": "推算",
}


@dataclass
class Candidate:
    """What one source read: fields keyed like `FIELDS` (dates as date, amounts as Decimal).

    `evidence` says the source shows an invoice (a title, a valid QR payload, an invoice XML),
    not merely a number that looks like one. `where` names the member or page it came from.
    """

    source: str
    fields: dict[str, Any] = field(default_factory=dict)
    evidence: bool = True
    where: str = ""

    @property
    def rank(self) -> int:
        return SOURCE_RANK.get(self.source, 9)

    def has_data(self) -> bool:
        return any(v not in (None, "", []) for v in self.fields.values())


@dataclass
class Extraction:
    """One file's result. `invoice` has exactly INVOICE_KEYS when ok, else it is None."""

    file: str
    ok: bool
    error: dict[str, str] | None = None
    invoice: dict[str, Any] | None = None
    kind: str | None = None  # what the bytes are: pdf, ofd, xml, png, jpeg, zip, ...
    pages: int | None = None  # pages in the document, where it has pages
    pages_read: int = 0  # pages whose text was read or which were rendered
    notes: list[str] = field(default_factory=list)  # what was tried, for people (Chinese)

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "ok": self.ok, "error": self.error, "invoice": self.invoice}

    def to_json(self) -> str:
        """One line of JSON: file, ok, error ({code, message} or null), invoice (or null)."""
        return json.dumps(self.as_dict(), ensure_ascii=False, separators=(",", ":"))


@dataclass
class Found:
    """What one file's reader gathered, before merging."""

    candidates: list[Candidate] = field(default_factory=list)
    pages: int | None = None
    pages_read: int = 0
    notes: list[str] = field(default_factory=list)
    qr_refusals: list[str] = field(default_factory=list)  # decoded codes that are no invoice QR
    has_text: bool = False  # a text layer (PDF) or text objects (OFD) exist
    ocr_unavailable: bool = False  # OCR was needed and is not installed

    def add(self, candidate: Candidate | None) -> None:
        if candidate is not None and candidate.has_data():
            self.candidates.append(candidate)
