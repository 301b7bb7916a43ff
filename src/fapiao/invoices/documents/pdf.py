"""An invoice as a PDF in the layout of the national 数电 invoice.

The page copies the real PDFs the tax bureau issues (../realdata, easyofd/test.pdf): 210 × 140 mm
landscape, labels in dark red (#800000), QR code top left, title with a double rule, 发票号码 and
开票日期 top right, one frame holding the buyer and seller boxes, the line table, 合计, 价税合计 and
备注, and 开票人 under the frame. The 全国统一发票监制章 is not drawn: that seal belongs on the
tax bureau's own documents only, and this PDF is the platform's rendering of the record.

Every string is real text in the embedded font subset, so the text layer carries the number,
the totals and the 大写. Output is deterministic: reportlab's invariant mode, with the creation
date and document ID derived from the invoice.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable
from dataclasses import dataclass

import segno
from reportlab.lib.colors import Color, black
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from fapiao.invoices.documents import common
from fapiao.invoices.documents.fonts import font_name, text_width
from fapiao.invoices.models import Invoice, InvoiceLine
from fapiao.rules import qr, rmb, tax

PAGE_WIDTH, PAGE_HEIGHT = 210 * mm, 140 * mm
LABEL = Color(128 / 255, 0, 0)  # the dark red of the real invoices' printed form
RED = Color(231 / 255, 22 / 255, 27 / 255)

# Geometry in millimetres, measured from the top-left corner like the real form.
LEFT, RIGHT = 5.0, 205.0
MIDDLE = 105.0
QR_X, QR_TOP, QR_SIZE = 8.0, 5.0, 22.0
FRAME_TOP = 29.0
PARTY_BOTTOM = 51.0
HEADER_BOTTOM = 57.0
ITEMS_BOTTOM = 91.5
SUM_BOTTOM = 97.5
TOTAL_BOTTOM = 105.0
FRAME_BOTTOM = 124.0
DRAWER_BASELINE = 131.0
QR_FORM = "InvoiceQR"
SIDE_LABEL = 6.0  # the narrow column holding 购买方信息, 销售方信息, 备注 written vertically

LABEL_SIZE = 8.5
VALUE_SIZE = 9.0
ITEM_SIZE = 8.0
MIN_SIZE = 5.5
LINE_GAP = 1.22  # line height as a multiple of the font size
ROW_PAD = 0.7  # mm of air under each line-table row


@dataclass(frozen=True)
class Column:
    title: str
    left: float
    right: float
    align: str  # "left", "center" or "right"


COLUMNS = (
    Column("项目名称", LEFT, 52.0, "left"),
    Column("规格型号", 52.0, 74.0, "left"),
    Column("单位", 74.0, 86.0, "center"),
    Column("数量", 86.0, 106.0, "right"),
    Column("单价", 106.0, 136.0, "right"),
    Column("金额", 136.0, 160.0, "right"),
    Column("税率/征收率", 160.0, 178.0, "center"),
    Column("税额", 178.0, RIGHT, "right"),
)
NAME, SPEC, UNIT, QUANTITY, PRICE, AMOUNT, RATE, TAX = COLUMNS
CELL_PAD = 1.5  # mm between a cell's text and its column edges


@dataclass(frozen=True)
class Row:
    """One invoice line laid out: wrapped text per column, font size, height in mm."""

    cells: tuple[tuple[str, ...], ...]
    size: float
    height: float


def invoice_pdf(invoice: Invoice, *, lines: Iterable[InvoiceLine] | None = None) -> bytes:
    """The invoice as PDF bytes; `lines` is for an unsaved invoice (default: its saved lines)."""
    rows = [_row(line) for line in common.invoice_lines(invoice, lines)]
    pages = _paginate(rows)
    try:
        payload = common.qr_payload(invoice)
    except qr.QrError:
        payload = None  # a malformed record (bad code or number) still prints, without a QR
    buffer = io.BytesIO()
    canvas = _canvas(buffer, invoice)
    if payload:  # drawn once as a form XObject, placed on every page
        canvas.beginForm(QR_FORM)
        draw_qr(canvas, payload, QR_X, QR_TOP, QR_SIZE)
        canvas.endForm()
    for index, page_rows in enumerate(pages, 1):
        _page(canvas, invoice, page_rows, bool(payload), index, len(pages))
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def new_canvas(buffer: io.BytesIO) -> Canvas:
    """A blank page of the invoice's size, with the invoice font and nothing unembedded."""
    font = font_name()
    return Canvas(
        buffer,
        pagesize=(PAGE_WIDTH, PAGE_HEIGHT),
        invariant=1,
        initialFontName=font,
        initialFontSize=VALUE_SIZE,
        lang="zh-CN",
    )


def draw_qr(canvas: Canvas, text: str, x: float, top: float, size: float) -> None:
    """A QR code of `text`, `size` mm square, top-left corner at (x, top) mm from the page's top.

    Dark modules are merged into horizontal runs, one filled path for the whole symbol; the
    quiet zone is the white page around it.
    """
    matrix = segno.make(text, error="m", micro=False).matrix
    module = size * mm / len(matrix)
    left, upper = x * mm, _y(top)
    path = canvas.beginPath()
    for r, row in enumerate(matrix):
        start = None
        for c, dark in enumerate((*row, 0)):
            if dark and start is None:
                start = c
            elif not dark and start is not None:
                path.rect(
                    left + start * module, upper - (r + 1) * module, (c - start) * module, module
                )
                start = None
    canvas.setFillColor(black)
    canvas.drawPath(path, stroke=0, fill=1)


def _canvas(buffer: io.BytesIO, invoice: Invoice) -> Canvas:
    canvas = new_canvas(buffer)
    kind = common.invoice_type(invoice)
    title = kind.name if kind else "发票"
    canvas.setTitle(f"{title} {invoice.identity}")
    canvas.setAuthor(invoice.seller_name)
    canvas.setSubject(f"{invoice.seller_name} → {invoice.buyer_name} 价税合计 {invoice.total}")
    canvas.setKeywords(invoice.identity)
    canvas.setCreator("Fapiao 发票平台")
    # In invariant mode the PDF ID digests the metadata above: it follows the invoice.
    stamp = common.local_issued_at(invoice)
    offset = stamp.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset else 0
    sign = "+" if minutes >= 0 else "-"
    date = f"D:{stamp:%Y%m%d%H%M%S}{sign}{abs(minutes) // 60:02d}'{abs(minutes) % 60:02d}'"
    canvas.setDateFormatter(lambda *_: date)
    return canvas


def _page(
    canvas: Canvas,
    invoice: Invoice,
    rows: list[Row],
    with_qr: bool,
    page: int,
    pages: int,
) -> None:
    if with_qr:
        canvas.doForm(QR_FORM)
    _heading(canvas, invoice, page, pages)
    _frame(canvas)
    _party(canvas, "购买方信息", LEFT, invoice.buyer_name, invoice.buyer_tax_id)
    _party(canvas, "销售方信息", MIDDLE, invoice.seller_name, invoice.seller_tax_id)
    _line_table(canvas, rows)
    _totals(canvas, invoice, last=page == pages)
    _remarks(canvas, invoice.remarks)
    _text(canvas, 20.0, DRAWER_BASELINE, "开票人：", LABEL_SIZE, LABEL)
    _text(
        canvas,
        20.0 + _mm(text_width("开票人：", LABEL_SIZE)),
        DRAWER_BASELINE,
        invoice.drawer,
        VALUE_SIZE,
    )


def _heading(canvas: Canvas, invoice: Invoice, page: int, pages: int) -> None:
    kind = common.invoice_type(invoice)
    title = kind.name if kind else f"发票（类型 {invoice.type_code}）"
    size = 16.0
    width = _mm(text_width(title, size))
    while width > 76 and size > 11:  # long legacy names must not reach the number block
        size -= 0.5
        width = _mm(text_width(title, size))
    _text(canvas, MIDDLE, 13.0, title, size, LABEL, "center")
    canvas.setStrokeColor(LABEL)
    canvas.setLineWidth(0.6)
    for rule in (15.2, 16.1):
        canvas.line((MIDDLE - width / 2) * mm, _y(rule), (MIDDLE + width / 2) * mm, _y(rule))
    if invoice.is_red:
        _red_marker(canvas)

    fields = []
    if not common.is_digital(invoice) and invoice.code:
        fields.append(("发票代码：", invoice.code))
    fields.append(("发票号码：", invoice.number))
    fields.append(("开票日期：", _date(invoice)))
    if not common.is_digital(invoice) and invoice.check_code:
        code = invoice.check_code
        fields.append(("校 验 码：", " ".join(code[i : i + 5] for i in range(0, len(code), 5))))
    label_width = max(_mm(text_width(label, LABEL_SIZE)) for label, _ in fields)
    value_width = max(_mm(text_width(value, VALUE_SIZE)) for _, value in fields)
    x = min(150.0, RIGHT - 2 - label_width - value_width)
    first, step = (11.5, 6.0) if len(fields) == 2 else (8.0, 5.0)
    for i, (label, value) in enumerate(fields):
        baseline = first + i * step
        _text(canvas, x, baseline, label, LABEL_SIZE, LABEL)
        _text(canvas, x + label_width, baseline, value, VALUE_SIZE)
    if pages > 1:
        _text(canvas, RIGHT - 2, 27.3, f"共{pages}页 第{page}页", LABEL_SIZE, LABEL, "right")


def _red_marker(canvas: Canvas) -> None:
    """红字发票: the negative amounts say it, the marker makes it plain at a glance."""
    width, top, height = 30.0, 19.0, 7.5
    canvas.setStrokeColor(RED)
    canvas.setLineWidth(1.2)
    canvas.roundRect(
        (MIDDLE - width / 2) * mm,
        _y(top + height),
        width * mm,
        height * mm,
        1.2 * mm,
        stroke=1,
        fill=0,
    )
    _text(canvas, MIDDLE, top + 5.5, "红字发票", 13.0, RED, "center")


def _frame(canvas: Canvas) -> None:
    canvas.setStrokeColor(LABEL)
    canvas.setLineWidth(0.8)
    canvas.rect(LEFT * mm, _y(FRAME_BOTTOM), (RIGHT - LEFT) * mm, (FRAME_BOTTOM - FRAME_TOP) * mm)
    canvas.setLineWidth(0.6)
    for top in (PARTY_BOTTOM, SUM_BOTTOM, TOTAL_BOTTOM):
        canvas.line(LEFT * mm, _y(top), RIGHT * mm, _y(top))
    for x in (LEFT + SIDE_LABEL, MIDDLE, MIDDLE + SIDE_LABEL):
        canvas.line(x * mm, _y(FRAME_TOP), x * mm, _y(PARTY_BOTTOM))
    canvas.line(
        (LEFT + SIDE_LABEL) * mm, _y(TOTAL_BOTTOM), (LEFT + SIDE_LABEL) * mm, _y(FRAME_BOTTOM)
    )


def _vertical(canvas: Canvas, text: str, left: float, top: float, bottom: float) -> None:
    """Characters stacked one under the other, centred in a side column."""
    step = min(3.7, (bottom - top - 4) / len(text))
    first = (top + bottom) / 2 - step * (len(text) - 1) / 2 + LABEL_SIZE * 0.35 / mm
    for i, char in enumerate(text):
        _text(canvas, left + SIDE_LABEL / 2, first + i * step, char, LABEL_SIZE, LABEL, "center")


def _party(canvas: Canvas, label: str, left: float, name: str, tax_id: str) -> None:
    _vertical(canvas, label, left, FRAME_TOP, PARTY_BOTTOM)
    x = left + SIDE_LABEL + 2
    right = left + 100 - 2
    name_label = "名称："
    _text(canvas, x, 37.5, name_label, LABEL_SIZE, LABEL)
    name_x = x + _mm(text_width(name_label, LABEL_SIZE))
    lines, size = _fit(name, right - name_x, VALUE_SIZE, max_lines=2)
    baselines = (37.5,) if len(lines) == 1 else (35.6, 35.6 + size * LINE_GAP / mm)
    for baseline, line in zip(baselines, lines, strict=False):
        _text(canvas, name_x, baseline, line, size)
    id_label = "统一社会信用代码/纳税人识别号："
    _text(canvas, x, 46.0, id_label, LABEL_SIZE, LABEL)
    id_x = x + _mm(text_width(id_label, LABEL_SIZE))
    id_lines, id_size = _fit(tax_id, right - id_x, VALUE_SIZE, max_lines=1)
    _text(canvas, id_x, 46.0, id_lines[0] if id_lines else "", id_size)


def _row(line: InvoiceLine) -> Row:
    """Name, spec and unit wrap; figures shrink to fit their column on one line."""
    flag = common.exemption(line)
    exempt = flag in (tax.TaxExemption.EXEMPT, tax.TaxExemption.NOT_TAXABLE) and not line.tax
    figures = {
        QUANTITY: common.plain(line.quantity),
        PRICE: common.plain(line.unit_price),
        AMOUNT: common.money(line.amount),
        RATE: tax.rate_label(line.rate, flag),
        TAX: "***" if exempt else common.money(line.tax),  # 免税/不征税 lines print *** as tax
    }
    region = ITEMS_BOTTOM - HEADER_BOTTOM - ROW_PAD
    size = ITEM_SIZE
    while True:
        max_lines = max(1, math.floor(region / (size * LINE_GAP / mm)))
        wrapped = {
            column: _wrap(text, _inner(column), size)
            for column, text in ((NAME, line.name), (SPEC, line.spec), (UNIT, line.unit))
        }
        if max(len(v) for v in wrapped.values()) <= max_lines or size <= MIN_SIZE:
            break
        size -= 0.5
    for column, texts in wrapped.items():
        if len(texts) > max_lines:  # beyond any real name length (200 characters): elide
            wrapped[column] = (*texts[: max_lines - 1], _elide(texts[max_lines - 1], column, size))
    cells = []
    for column in COLUMNS:
        if column in wrapped:
            cells.append(tuple(wrapped[column]))
        else:
            cells.append((figures[column],))
    height = max(len(c) for c in cells) * size * LINE_GAP / mm + ROW_PAD
    return Row(tuple(cells), size, height)


def _paginate(rows: list[Row]) -> list[list[Row]]:
    """Rows in pages, as many per page as the line table holds; at least one page."""
    region = ITEMS_BOTTOM - HEADER_BOTTOM
    pages: list[list[Row]] = [[]]
    used = 0.0
    for row in rows:
        if pages[-1] and used + row.height > region:
            pages.append([])
            used = 0.0
        pages[-1].append(row)
        used += row.height
    return pages


def _line_table(canvas: Canvas, rows: list[Row]) -> None:
    for column in COLUMNS:
        center = (column.left + column.right) / 2
        _text(canvas, center, 55.0, column.title, LABEL_SIZE, LABEL, "center")
    top = HEADER_BOTTOM
    for row in rows:
        line_height = row.size * LINE_GAP / mm
        for column, texts in zip(COLUMNS, row.cells, strict=True):
            for i, text in enumerate(texts):
                baseline = top + line_height * i + row.size * 0.95 / mm
                if column.align == "left" or len(texts) > 1:
                    _text(canvas, column.left + CELL_PAD, baseline, text, row.size)
                else:
                    size = _shrink(text, _inner(column), row.size)
                    _cell(canvas, column, baseline, text, size)
        top += row.height


def _totals(canvas: Canvas, invoice: Invoice, *, last: bool) -> None:
    baseline = SUM_BOTTOM - 2.2
    _text(canvas, (NAME.left + NAME.right) / 2, baseline, "合　　计", LABEL_SIZE, LABEL, "center")
    row = (TOTAL_BOTTOM + SUM_BOTTOM) / 2 + 1.2
    _text(canvas, LEFT + 3, row, "价税合计（大写）", LABEL_SIZE, LABEL)
    small_x = 140.0
    _text(canvas, small_x, row, "（小写）", LABEL_SIZE, LABEL)
    if not last:
        _text(canvas, 48.0, row, "（续下页）", VALUE_SIZE)
        return
    for column, value in ((AMOUNT, invoice.amount), (TAX, invoice.tax)):
        text = f"¥{common.money(value)}"
        _cell(canvas, column, baseline, text, _shrink(text, _inner(column), VALUE_SIZE))
    words = f"⊗{rmb.capital(invoice.total)}"
    _text(canvas, 48.0, row, words, _shrink(words, small_x - 50.0, 10.0))
    total = f"¥{common.money(invoice.total)}"
    total_x = small_x + _mm(text_width("（小写）", LABEL_SIZE)) + 1
    _text(canvas, total_x, row, total, _shrink(total, RIGHT - 2 - total_x, 10.0))


def _remarks(canvas: Canvas, remarks: str) -> None:
    _vertical(canvas, "备注", LEFT, TOTAL_BOTTOM, FRAME_BOTTOM)
    x = LEFT + SIDE_LABEL + 2
    width = RIGHT - 2 - x
    height = FRAME_BOTTOM - TOTAL_BOTTOM - 2.5
    size = VALUE_SIZE
    while True:
        max_lines = max(1, math.floor(height / (size * LINE_GAP / mm)))
        lines = [
            part for paragraph in remarks.splitlines() for part in _wrap(paragraph, width, size)
        ]
        if len(lines) <= max_lines or size <= MIN_SIZE:
            break
        size -= 0.5
    if len(lines) > max_lines:
        lines = [*lines[: max_lines - 1], _elide_text(lines[max_lines - 1], width, size)]
    for i, line in enumerate(lines):
        _text(
            canvas, x, TOTAL_BOTTOM + 1.2 + size * 0.95 / mm + i * size * LINE_GAP / mm, line, size
        )


# Text helpers ---------------------------------------------------------------------------------


def _y(top_mm: float) -> float:
    return PAGE_HEIGHT - top_mm * mm


def _mm(points: float) -> float:
    return points / mm


def _text(
    canvas: Canvas,
    x: float,
    baseline: float,
    text: str,
    size: float,
    color: Color = black,
    align: str = "left",
) -> None:
    if not text:
        return
    canvas.setFillColor(color)
    canvas.setFont(font_name(), size)
    if align == "center":
        canvas.drawCentredString(x * mm, _y(baseline), text)
    elif align == "right":
        canvas.drawRightString(x * mm, _y(baseline), text)
    else:
        canvas.drawString(x * mm, _y(baseline), text)


def _cell(canvas: Canvas, column: Column, baseline: float, text: str, size: float) -> None:
    if column.align == "right":
        _text(canvas, column.right - CELL_PAD, baseline, text, size, align="right")
    elif column.align == "center":
        _text(canvas, (column.left + column.right) / 2, baseline, text, size, align="center")
    else:
        _text(canvas, column.left + CELL_PAD, baseline, text, size)


def _inner(column: Column) -> float:
    return column.right - column.left - 2 * CELL_PAD


def _wrap(text: str, width: float, size: float) -> list[str]:
    """Greedy wrap, width in mm. Chinese breaks between any two characters, but closing
    punctuation never starts a line, opening punctuation never ends one, and a run of Latin
    letters and digits (a model number, 512GB) moves down whole when the line has room before it.
    """
    limit = width * mm
    lines: list[str] = []
    current = ""
    for char in text:
        if current and text_width(current + char, size) > limit:
            cut = _break_at(current, char)
            lines.append(current[:cut])
            current = current[cut:]
        current += char
    if current:
        lines.append(current)
    return lines


_NO_LINE_START = frozenset("、，。．,.;；:：!！?？)）]］}｝》」』”’%％…·")
_NO_LINE_END = frozenset("(（[［{｛《「『“‘¥")


def _break_at(current: str, following: str) -> int:
    """Where to end the line `current` when `following` does not fit after it."""
    if len(current) < 2:
        return len(current)
    if _is_word(following) and _is_word(current[-1]):
        start = len(current)
        while start > 0 and _is_word(current[start - 1]):
            start -= 1
        if start > 0:
            return start
        hyphen = max(current.rfind(mark) for mark in "-/_")  # ZJBJ-XA-2025- | 0307
        if hyphen > 0:
            return hyphen + 1
    if following in _NO_LINE_START or current[-1] in _NO_LINE_END:
        return len(current) - 1
    return len(current)


def _is_word(char: str) -> bool:
    return char.isascii() and (char.isalnum() or char in "-_./")


def _fit(text: str, width: float, size: float, *, max_lines: int) -> tuple[list[str], float]:
    """Shrink from `size` towards MIN_SIZE until `text` fits `max_lines` lines; elide beyond."""
    while True:
        lines = _wrap(text, width, size)
        if len(lines) <= max_lines or size <= MIN_SIZE:
            break
        size -= 0.5
    if len(lines) > max_lines:
        lines = [*lines[: max_lines - 1], _elide_text(lines[max_lines - 1], width, size)]
    return lines, size


def _shrink(text: str, width: float, size: float) -> float:
    """The largest size up to `size` at which one line of `text` fits `width` mm."""
    while size > MIN_SIZE and _mm(text_width(text, size)) > width:
        size -= 0.25
    return size


def _elide(text: str, column: Column, size: float) -> str:
    return _elide_text(text, _inner(column), size)


def _elide_text(text: str, width: float, size: float) -> str:
    while text and _mm(text_width(text + "…", size)) > width:
        text = text[:-1]
    return text + "…"


def _date(invoice: Invoice) -> str:
    day = invoice.issue_date
    return f"{day.year}年{day.month:02d}月{day.day:02d}日"
