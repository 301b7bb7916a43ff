"""OFD (GB/T 33190): a ZIP holding OFD.xml → Doc_N/Document.xml → pages, resources, attachments.

Sources inside one OFD, best first:
- attached invoice XML (`Doc_0/Attachs/original_invoice.xml`: edrm schema, or the Ministry of
  Finance XBRL variant `inv_*.xml`), with its `fp:GraphCode` (the QR payload as text, or as a
  base64 image of the QR code);
- custom tags (`Doc_0/Tags/CustomTag.xml` and the like), which map invoice fields to text objects
  on the page; these files are sometimes invalid XML or CDATA-wrapped, hence the tolerant reader;
- the QR code in the page's raster images (JBIG2 cannot be decoded and is skipped; vector QR codes
  are not rendered: the XML above carries the same data);
- the page text (`Pages/Page_N/Content.xml` plus its template, or wherever Document.xml points),
  read by label like a PDF's text layer.
Paths are resolved as the standard says (relative to the referring file) and, failing that,
case-insensitively from the root: real files differ (`Tpls` and `TPLS`, `Doc_0/Content_0.xml`).
"""

from __future__ import annotations

import contextlib
import html
import math
import posixpath
import re
import zipfile
from dataclasses import dataclass, field

from fapiao.verification.extraction import layout, limits, ocr, qrcode, values
from fapiao.verification.extraction import xml as xmlreader
from fapiao.verification.extraction.layout import Glyph
from fapiao.verification.extraction.limits import ExtractionError, fail
from fapiao.verification.extraction.result import Candidate, Found

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
UNDECODABLE_EXTENSIONS = (".jb2", ".jbig2")

_SELF_CLOSING_TEXT = re.compile(r"<(?:[\w.-]*:)?TextObject\b(?:[^>\"']|\"[^\"]*\"|'[^']*')*/>")
_TEXT_OBJECT = re.compile(
    r"<(?:[\w.-]*:)?TextObject\b((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>(.*?)</(?:[\w.-]*:)?TextObject\s*>",
    re.S,
)
_TEXT_CODE = re.compile(
    r"<(?:[\w.-]*:)?TextCode\b((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>(.*?)</(?:[\w.-]*:)?TextCode\s*>",
    re.S,
)
_IMAGE_OBJECT = re.compile(r"<(?:[\w.-]*:)?ImageObject\b((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>")
_TEMPLATE = re.compile(r"<(?:[\w.-]*:)?Template\b((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>")
_ATTR = re.compile(r"([\w.:-]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
_CDATA = re.compile(r"<!\[CDATA\[(.*?)\]\]>", re.S)


@dataclass
class PageContent:
    glyphs: list[Glyph] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)  # object ID → its text
    images: list[str] = field(default_factory=list)  # resource IDs, in drawing order
    templates: list[str] = field(default_factory=list)


class Package:
    """The OFD's members, read within the limits, with path resolution."""

    def __init__(self, data: bytes) -> None:
        self.archive = limits.open_zip(data, what="ofd")
        self.infos = {i.filename.lstrip("/"): i for i in self.archive.infolist() if not i.is_dir()}
        self.lower = {name.lower(): name for name in self.infos}

    def find(self, path: str | None) -> str | None:
        if not path:
            return None
        path = posixpath.normpath(path.replace("\\", "/").lstrip("/"))
        if path in self.infos:
            return path
        return self.lower.get(path.lower())

    def resolve(self, base_dir: str, location: str | None) -> str | None:
        """A location as written in `base_dir`'s file: relative to it, else from the root."""
        if not location:
            return None
        location = location.strip().replace("\\", "/")
        if location.startswith("/"):
            return self.find(location)
        return self.find(posixpath.join(base_dir, location)) or self.find(location)

    def read(self, name: str | None, limit: int = limits.MAX_OFD_PAGE_XML) -> bytes | None:
        member = self.find(name) if name else None
        if member is None:
            return None
        try:
            return limits.read_member(self.archive, self.infos[member], limit)
        except ExtractionError as error:
            if error.code in ("archive_corrupt", "archive_encrypted"):
                raise fail("ofd_corrupt", detail=error.message) from error
            raise

    def optional(self, name: str | None, notes: list[str], limit: int = limits.MAX_XML_BYTES):
        """A member the invoice can do without: a failure is noted, not raised."""
        try:
            return self.read(name, limit)
        except ExtractionError as error:
            notes.append(f"{name}：{error.message}")
            return None


def extract(data: bytes, budget: limits.Budget) -> Found:
    try:
        package = Package(data)
    except ExtractionError as error:
        if error.code == "archive_corrupt":
            raise fail("ofd_corrupt", detail=error.message) from error
        raise
    found = Found()
    root = package.read("OFD.xml")
    if root is None:
        raise fail("ofd_corrupt", detail="缺少 OFD.xml，不是 OFD 文件")
    ofd = xmlreader.tree(root)
    found.add(_custom_data(ofd))
    doc_root = next((n.text for n in ofd.iter() if n.key == "docroot" and n.text), None)
    doc_path = package.resolve("", doc_root) or package.find("Doc_0/Document.xml")
    document_data = package.read(doc_path)
    if document_data is None:
        raise fail("ofd_corrupt", detail="缺少 Document.xml（OFD.xml 的 DocRoot 指向不存在的文件）")
    document = xmlreader.tree(document_data)
    doc_dir = posixpath.dirname(doc_path or "")

    pages = [
        package.resolve(doc_dir, n.attrs.get("BaseLoc"))
        for n in document.iter()
        if n.key == "page" and n.attrs.get("BaseLoc")
    ]
    templates = {
        n.attrs.get("ID", ""): package.resolve(doc_dir, n.attrs.get("BaseLoc"))
        for n in document.iter()
        if n.key == "templatepage" and n.attrs.get("BaseLoc")
    }
    found.pages = len(pages)

    # Pages: text objects (for the layout and for the custom tags) and the images they draw.
    chosen = sorted({*range(min(len(pages), limits.MAX_TEXT_PAGES)), len(pages) - 1} - {-1})
    contents: list[PageContent] = []
    template_cache: dict[str, PageContent] = {}
    texts: dict[str, str] = {}
    for index in chosen:
        budget.check()
        content = _content(package.read(pages[index]))
        for template_id in content.templates:
            if template_id not in template_cache:
                template_cache[template_id] = _content(package.read(templates.get(template_id)))
            template = template_cache[template_id]
            content.glyphs.extend(template.glyphs)
            for key, value in template.texts.items():
                content.texts.setdefault(key, value)
        contents.append(content)
        for key, value in content.texts.items():
            texts.setdefault(key, value)
    found.pages_read = len(chosen)
    found.has_text = any(c.glyphs for c in contents)

    # Attached invoice XML, and its GraphCode.
    for name in _members(package, document, doc_dir, "attachments", "attachment", "Attachs"):
        budget.check()
        data_xml = package.optional(name, found.notes)
        if not data_xml:
            continue
        try:
            candidate, raw = xmlreader.structured(data_xml, "ofd_attachment", name)
        except ExtractionError:
            continue
        if candidate is None:
            continue
        found.add(candidate)
        _graph_code(found, raw.get("graph_code"), name, budget)

    # Custom tags: fields mapped to the text objects read above.
    for name in _members(package, document, doc_dir, "customtags", "customtag", "Tags"):
        budget.check()
        data_xml = package.optional(name, found.notes)
        if not data_xml:
            continue
        try:
            tag_root = xmlreader.root_of(xmlreader.tree(data_xml))
        except ExtractionError:
            continue
        if tag_root is None:
            continue
        raw = xmlreader.read_fields(tag_root, lambda node: _referenced_text(node, texts))
        fields = xmlreader.candidate_fields(raw)
        fields.pop("lines", None)  # lines point at later pages; the attachment has them whole
        if fields:
            found.add(Candidate("ofd_custom_tag", fields, where=name))
        _graph_code(found, raw.get("graph_code"), name, budget)

    # The page text, read by label.
    fields, evidence = layout.read_pages(c.glyphs for c in contents)
    if fields:
        found.add(Candidate("ofd_text", fields, evidence=evidence))

    # QR codes in raster images: those the pages draw, then resources no page draws.
    search = _qr_from_images(package, document, doc_dir, contents, found, budget)
    if search.payload is not None:
        found.add(qrcode.candidate(search.payload, "qr", search.where))
    found.qr_refusals = search.refusals

    if search.payload is None and not found.has_text and not found.candidates:
        _ocr(package, contents, document, doc_dir, found, budget)
    return found


_CUSTOM_DATA = {
    "发票代码": "code",
    "发票号码": "number",
    "开票日期": "issue_date",
    "校验码": "check_code",
    "合计金额": "amount",
    "合计税额": "tax",
    "价税合计": "total",
    "购买方名称": "buyer_name",
    "购买方纳税人识别号": "buyer_tax_id",
    "销售方名称": "seller_name",
    "销售方纳税人识别号": "seller_tax_id",
}


def _custom_data(ofd: xmlreader.Node) -> Candidate | None:
    """OFD.xml's DocInfo/CustomData entries named like the form's labels (发票号码 ...)."""
    raw: dict[str, str] = {}
    for node in ofd.iter():
        if node.key == "customdata" and node.text:
            key = _CUSTOM_DATA.get(values.squeeze(node.attrs.get("Name")))
            if key and key not in raw:
                raw[key] = node.text
    if not raw:
        return None
    fields = xmlreader.candidate_fields(raw)
    fields.pop("lines", None)
    return Candidate("ofd_custom_data", fields, where="OFD.xml") if fields else None


def _members(
    package: Package,
    document: xmlreader.Node,
    doc_dir: str,
    index_tag: str,
    entry: str,
    folder: str,
) -> list[str]:
    """Files an index (Attachments.xml, CustomTags.xml) lists, then the XML files in `folder`."""
    names: list[str] = []
    index_location = next((n.text for n in document.iter() if n.key == index_tag and n.text), None)
    index_path = package.resolve(doc_dir, index_location)
    if index_path:
        data = package.read(index_path, limits.MAX_XML_BYTES)
        if data:
            index_dir = posixpath.dirname(index_path)
            for node in xmlreader.tree(data).iter():
                if node.key == "fileloc" and node.text:
                    name = package.resolve(index_dir, node.text)
                    if name and name not in names:
                        names.append(name)
    prefix = posixpath.join(doc_dir, folder).lower() + "/"
    for name in sorted(package.infos):
        lower = name.lower()
        wanted = lower.startswith(prefix) and lower.endswith(".xml") and name != index_path
        if wanted and name not in names:
            names.append(name)
    return names


def _referenced_text(node: xmlreader.Node, texts: dict[str, str]) -> str:
    """A custom tag's value: the text of the objects it references, or its inline data."""
    refs = [n for n in node.iter() if n.key == "objectref"]
    if refs:
        return "".join(texts.get(ref.text, "") for ref in refs)
    data = [n.text for n in node.iter() if n.key == "objectdata"]
    if data:
        return "".join(data)
    return node.text if not node.children else ""


def _graph_code(found: Found, raw: str | None, where: str, budget: limits.Budget) -> None:
    text, image_bytes = xmlreader.graph_code_text(raw)
    if text:
        payload = qrcode.parse_payload(text)
        if payload is not None:
            found.add(qrcode.candidate(payload, "graph_code", where))
        return
    if image_bytes:
        try:
            image = limits.open_image(image_bytes)
        except ExtractionError:
            return
        search = qrcode.search(image, budget, thorough=False, where=where)
        if search.payload is not None:
            found.add(qrcode.candidate(search.payload, "graph_code", where))


def _content(data: bytes | None) -> PageContent:
    content = PageContent()
    if not data:
        return content
    text = xmlreader.decode(data)
    text = _SELF_CLOSING_TEXT.sub("", text)
    content.templates = [_attrs(m.group(1)).get("TemplateID", "") for m in _TEMPLATE.finditer(text)]
    content.images = [
        _attrs(m.group(1)).get("ResourceID", "") for m in _IMAGE_OBJECT.finditer(text)
    ]
    for match in _TEXT_OBJECT.finditer(text):
        attrs = _attrs(match.group(1))
        pieces = []
        for code in _TEXT_CODE.finditer(match.group(2)):
            chars = _unescape(code.group(2))
            pieces.append(chars)
            content.glyphs.extend(_code_glyphs(attrs, _attrs(code.group(1)), chars))
        if attrs.get("ID"):
            content.texts[attrs["ID"]] = "".join(p.strip() for p in pieces)
    return content


def _attrs(text: str) -> dict[str, str]:
    return {
        m.group(1).rsplit(":", 1)[-1]: m.group(2) if m.group(2) is not None else m.group(3)
        for m in _ATTR.finditer(text or "")
    }


def _unescape(text: str) -> str:
    return html.unescape(_CDATA.sub(lambda m: m.group(1), text))


def _numbers(text: str | None, count: int = 0) -> list[float]:
    out: list[float] = []
    for token in (text or "").replace(",", " ").split():
        try:
            out.append(float(token))
        except ValueError:
            continue
    return out + [0.0] * (count - len(out)) if count else out


def _deltas(text: str | None) -> list[float]:
    """DeltaX/DeltaY with the `g N value` repetition shorthand."""
    tokens = (text or "").split()
    out: list[float] = []
    i = 0
    while i < len(tokens) and len(out) < 100_000:
        if tokens[i] == "g" and i + 2 < len(tokens):
            with contextlib.suppress(ValueError):
                out.extend([float(tokens[i + 2])] * min(int(tokens[i + 1]), 10_000))
            i += 3
            continue
        with contextlib.suppress(ValueError):
            out.append(float(tokens[i]))
        i += 1
    return out


def _code_glyphs(obj: dict[str, str], code: dict[str, str], chars: str) -> list[Glyph]:
    """Glyphs of one TextCode: position = Boundary origin + CTM × (X + ΣDeltaX, Y + ΣDeltaY)."""
    bx, by, _bw, bh = _numbers(obj.get("Boundary"), 4)[:4]
    ctm = _numbers(obj.get("CTM"), 6) if obj.get("CTM") else [1.0, 0.0, 0.0, 1.0, 0.0, 0.0]
    a, b, c, d, e, f = ctm[:6]
    size = (_numbers(obj.get("Size") or obj.get("size")) or [3.5])[0]
    scale = math.sqrt(abs(a * d - b * c)) or 1.0
    if bh > 0 and size * scale > 1.5 * bh:  # a size in other units than the page (easyofd)
        size = bh / scale
    x = (_numbers(code.get("X")) or [0.0])[0]
    y = (_numbers(code.get("Y")) or [0.0])[0]
    dx, dy = _deltas(code.get("DeltaX")), _deltas(code.get("DeltaY"))
    stripped = chars.strip()
    found: list[Glyph] = []
    for k, char in enumerate(stripped):
        wide = not char.isascii()
        step = dx[k] if k < len(dx) else size * (1.0 if wide else 0.5)
        width = min(abs(step) or size, size if wide else 0.6 * size)
        corners = [(x, y - 0.8 * size), (x + width, y + 0.2 * size)]
        pts = [(a * px + c * py + e, b * px + d * py + f) for px, py in corners]
        xs = [bx + p[0] for p in pts]
        ys = [by + p[1] for p in pts]
        g = layout.glyph(char, min(xs), min(ys), max(xs), max(ys))
        if g is not None:
            found.append(g)
        x += step
        if k < len(dy):
            y += dy[k]
    return found


def _resources(package: Package, document: xmlreader.Node, doc_dir: str) -> dict[str, str]:
    """MultiMedia resource ID → member path, from DocumentRes.xml and PublicRes.xml."""
    found: dict[str, str] = {}
    for node in document.iter():
        if node.key not in ("documentres", "publicres") or not node.text:
            continue
        path = package.resolve(doc_dir, node.text)
        data = package.read(path, limits.MAX_XML_BYTES) if path else None
        if not data:
            continue
        res = xmlreader.root_of(xmlreader.tree(data))
        if res is None:
            continue
        res_dir = posixpath.dirname(path or "")
        base = (
            posixpath.join(res_dir, res.attrs.get("BaseLoc", ""))
            if res.attrs.get("BaseLoc")
            else res_dir
        )
        for media in res.iter():
            if media.key != "multimedia":
                continue
            file_node = next((n for n in media.iter() if n.key == "mediafile"), None)
            if file_node is None or not file_node.text:
                continue
            member = package.resolve(base, file_node.text) or package.resolve(
                res_dir, file_node.text
            )
            if member and media.attrs.get("ID"):
                found[media.attrs["ID"]] = member
    return found


def _image_members(
    package: Package, document: xmlreader.Node, doc_dir: str, contents: list[PageContent]
) -> tuple[list[str], list[str]]:
    """Images to search for the QR code, drawn ones first; and the undecodable ones (JBIG2)."""
    resources = _resources(package, document, doc_dir)
    ordered: list[str] = []
    for content in contents:
        for resource_id in content.images:
            member = resources.get(resource_id)
            if member and member not in ordered:
                ordered.append(member)
    drawn = set(resources.values())
    for name in sorted(package.infos):
        if name.lower().endswith(IMAGE_EXTENSIONS + UNDECODABLE_EXTENSIONS) and name not in drawn:
            ordered.append(name)
    usable = [n for n in ordered if n.lower().endswith(IMAGE_EXTENSIONS)]
    skipped = [n for n in ordered if n.lower().endswith(UNDECODABLE_EXTENSIONS)]
    return usable[: limits.MAX_OFD_IMAGES], skipped


def _qr_from_images(
    package: Package,
    document: xmlreader.Node,
    doc_dir: str,
    contents: list[PageContent],
    found: Found,
    budget: limits.Budget,
) -> qrcode.QrSearch:
    search = qrcode.QrSearch()
    members, skipped = _image_members(package, document, doc_dir, contents)
    if skipped:
        found.notes.append(f"JBIG2 图片无法解码，已跳过：{', '.join(skipped)}")
    for name in members:
        budget.check()
        try:
            image = limits.open_image(package.read(name, limits.MAX_MEMBER_BYTES) or b"")
        except (ExtractionError, zipfile.BadZipFile) as error:
            message = error.message if isinstance(error, ExtractionError) else str(error)
            found.notes.append(f"{name}：{message}")
            continue
        thorough = max(image.size) > 1000  # a scanned page rather than a QR image
        search.merge(qrcode.search(image, budget, thorough=thorough, where=name))
        if search.payload is not None:
            break
    return search


def _ocr(
    package: Package,
    contents: list[PageContent],
    document: xmlreader.Node,
    doc_dir: str,
    found: Found,
    budget: limits.Budget,
) -> None:
    """An image-only OFD without a readable QR code: OCR its largest page image, if available."""
    if not ocr.available():
        found.ocr_unavailable = True
        return
    members, _ = _image_members(package, document, doc_dir, contents)
    best = None
    for name in members[:3]:
        try:
            image = limits.open_image(package.read(name, limits.MAX_MEMBER_BYTES) or b"")
        except ExtractionError:
            continue
        if best is None or image.size[0] * image.size[1] > best.size[0] * best.size[1]:
            best = image
    if best is None:
        return
    budget.check()
    fields, evidence = layout.read_pages([ocr.glyphs(best)])
    found.add(Candidate("ocr", fields, evidence=evidence))
