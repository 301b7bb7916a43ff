"""The verification report (认证报告) as PDF: result, the fields compared, time, the verification
ID and a QR code of the report's public page, where a third party checks the report is genuine.

One A4 page, reportlab with the invoice documents' embedded CJK font and QR drawing.
"""

from __future__ import annotations

import io

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from reportlab.lib.colors import Color, black, white
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from fapiao.invoices.documents import pdf as invoice_pdf
from fapiao.invoices.documents.fonts import font_name, text_width
from fapiao.rules import types
from fapiao.verification.models import Verification, VerificationResult, VerificationSource
from fapiao.verification.selectors import comparison_rows, earlier_records

WIDTH, HEIGHT = A4
LEFT, RIGHT = 20 * mm, WIDTH - 20 * mm
INK = Color(0.07, 0.09, 0.15)
MUTED = Color(0.42, 0.45, 0.5)
LINE = Color(0.88, 0.89, 0.91)
GOOD = Color(0.02, 0.47, 0.34)
BAD = Color(0.75, 0.11, 0.11)
WARN = Color(0.71, 0.33, 0.04)
QR_SIZE = 34  # mm

EXPLANATIONS = {
    VerificationResult.MATCH: "所查发票与平台记录一致，发票状态正常。",
    VerificationResult.MISMATCH: "所查发票信息与平台记录不一致，不一致的项目见下表。",
    VerificationResult.NOT_FOUND: "平台没有这张发票的记录。",
    VerificationResult.VOIDED: "所查信息与平台记录一致，但这张发票已作废。",
    VerificationResult.RED_PARTIAL: "所查信息与平台记录一致，但这张发票已部分红冲。",
    VerificationResult.RED_FULL: "所查信息与平台记录一致，但这张发票已全额红冲。",
    VerificationResult.SAME_DAY: (
        "所查信息与平台记录一致。这张发票为当天开具：全国增值税发票查验平台次日（T+1）才能查到，"
        "本平台已有记录。"
    ),
    VerificationResult.TOO_OLD: "开票日期超过五年，不在查验范围内。",
    VerificationResult.BAD_FORMAT: "所填信息格式不正确，未能查验。",
}


def public_url(verification: Verification) -> str:
    return settings.SITE_URL + reverse("verification_public", args=[verification.public_id])


def result_color(result: str) -> Color:
    if result in (VerificationResult.MATCH, VerificationResult.SAME_DAY):
        return GOOD
    if result in (VerificationResult.MISMATCH, VerificationResult.NOT_FOUND):
        return BAD
    return WARN


def verification_report_pdf(verification: Verification) -> bytes:
    buffer = io.BytesIO()
    font = font_name()
    canvas = Canvas(buffer, pagesize=A4, invariant=1, initialFontName=font, lang="zh-CN")
    canvas.setTitle(f"发票查验报告 {verification.public_id}")
    canvas.setAuthor("发票平台 Fapiao")
    canvas.setCreator("Fapiao 发票平台")
    canvas.setSubject(f"{verification.identity} {verification.get_result_display()}")
    canvas.setKeywords(verification.public_id)
    _draw(canvas, verification)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _draw(canvas: Canvas, v: Verification) -> None:
    font = font_name()
    y = HEIGHT - 24 * mm
    canvas.setFillColor(INK)
    canvas.setFont(font, 20)
    canvas.drawString(LEFT, y, "发票查验报告")
    canvas.setFont(font, 10)
    canvas.setFillColor(MUTED)
    canvas.drawRightString(RIGHT, y + 6, "认证报告 · 发票平台")
    canvas.drawRightString(RIGHT, y - 8, f"查验编号：{v.public_id}")
    y -= 6 * mm
    canvas.setStrokeColor(INK)
    canvas.setLineWidth(1.2)
    canvas.line(LEFT, y, RIGHT, y)

    # The result, large, with what it means.
    y -= 16 * mm
    color = result_color(v.result)
    label = v.get_result_display()
    canvas.setFillColor(color)
    box_width = text_width(label, 16) + 12 * mm
    canvas.roundRect(LEFT, y - 3 * mm, box_width, 11 * mm, 2 * mm, stroke=0, fill=1)
    canvas.setFillColor(white)
    canvas.setFont(font, 16)
    canvas.drawString(LEFT + 6 * mm, y, label)
    canvas.setFillColor(INK)
    canvas.setFont(font, 10)
    for i, line in enumerate(_wrap(EXPLANATIONS[v.result], RIGHT - LEFT - box_width - 6 * mm, 10)):
        canvas.drawString(LEFT + box_width + 5 * mm, y + 3 - i * 13, line)

    # Who, when, how.
    y -= 14 * mm
    facts = [
        ("查验时间", timezone.localtime(v.created_at).strftime("%Y-%m-%d %H:%M:%S")),
        ("查验单位", v.organization.name),
        ("查验方式", v.get_source_display()),
    ]
    if v.source == VerificationSource.FILE:
        facts.append(("查验文件", v.file_name))
        facts.append(("文件 SHA-256", v.file_sha256))
    kind = types.lookup(types.Channel.QR, v.type_code) if v.type_code else None
    if kind:
        facts.append(("发票种类", kind.name))
    if v.invoice is not None and v.shows_platform_copy:
        facts.append(("发票状态（平台记录）", v.invoice.get_status_display()))
        facts.append(("销售方", f"{v.invoice.seller_name}  {v.invoice.seller_tax_id}"))
        facts.append(("购买方", f"{v.invoice.buyer_name}  {v.invoice.buyer_tax_id}".strip()))
    y = _facts(canvas, facts, y)

    # The fields compared.
    y -= 6 * mm
    canvas.setFont(font, 12)
    canvas.drawString(LEFT, y, "查验项目比对")
    y -= 4 * mm
    rows = comparison_rows(v)
    columns = (LEFT, LEFT + 42 * mm, LEFT + 92 * mm, LEFT + 142 * mm, RIGHT)
    y = _table(canvas, columns, ("项目", "查验输入", "平台记录", "结论"), rows, y)
    if v.problems:
        y -= 4 * mm
        canvas.setFont(font, 10)
        canvas.setFillColor(BAD)
        for problem in v.problems:
            for line in _wrap(f"· {problem['message']}", RIGHT - LEFT, 10):
                canvas.drawString(LEFT, y, line)
                y -= 13
        canvas.setFillColor(INK)

    earlier = earlier_records(v)
    if earlier.any:
        y -= 8 * mm
        canvas.setFont(font, 10)
        canvas.setFillColor(WARN)
        text = "查重提示：本单位此前已查验过这张发票" if earlier.verification else "查重提示："
        if earlier.claim:
            when = timezone.localtime(earlier.claim.created_at).strftime("%Y-%m-%d")
            text += f"；已于 {when} 登记报销"
        canvas.drawString(LEFT, y, text)
        canvas.setFillColor(INK)

    # The QR code of the public page, bottom right, with the address written out.
    url = public_url(v)
    canvas.saveState()
    # draw_qr measures from the top of an invoice-sized page: shift the origin to A4's top.
    canvas.translate(0, HEIGHT - invoice_pdf.PAGE_HEIGHT)
    qr_bottom = 30  # mm above the page's bottom edge
    qr_top = HEIGHT / mm - qr_bottom - QR_SIZE
    invoice_pdf.draw_qr(canvas, url, RIGHT / mm - QR_SIZE, qr_top, QR_SIZE)
    canvas.restoreState()
    top = (qr_bottom + QR_SIZE - 4) * mm
    canvas.setFont(font, 9)
    canvas.setFillColor(MUTED)
    lines = [
        "核验本报告：扫描右侧二维码，或在浏览器中打开",
        url,
        "页面显示的查验结果、发票号码、开票日期、价税合计和查验时间应与本报告一致。",
        "本报告由发票平台根据平台记录自动生成，仅证明查验时平台记录的状态。",
    ]
    width = RIGHT - LEFT - QR_SIZE * mm - 8 * mm
    for line in lines:
        size = 8 if line == url else 9
        canvas.setFont(font, size)
        for part in _wrap(line, width, size):
            canvas.drawString(LEFT, top, part)
            top -= size + 4
        top -= 4
    canvas.setStrokeColor(LINE)
    canvas.line(LEFT, 18 * mm, RIGHT, 18 * mm)
    canvas.drawString(LEFT, 13 * mm, f"发票平台 Fapiao · 查验编号 {v.public_id}")


def _facts(canvas: Canvas, facts: list[tuple[str, str]], y: float) -> float:
    font = font_name()
    for label, value in facts:
        canvas.setFont(font, 9)
        canvas.setFillColor(MUTED)
        canvas.drawString(LEFT, y, label)
        canvas.setFillColor(INK)
        canvas.setFont(font, 10)
        for i, line in enumerate(_wrap(value or "—", RIGHT - LEFT - 40 * mm, 10)):
            canvas.drawString(LEFT + 40 * mm, y - i * 13, line)
            if i:
                y -= 13
        y -= 16
    return y


def _table(canvas: Canvas, columns, heads, rows, y: float) -> float:
    font = font_name()
    canvas.setFillColor(Color(0.98, 0.98, 0.99))
    canvas.rect(LEFT, y - 7 * mm, RIGHT - LEFT, 7 * mm, stroke=0, fill=1)
    canvas.setFillColor(MUTED)
    canvas.setFont(font, 9)
    for x, head in zip(columns, heads, strict=False):
        canvas.drawString(x + 2 * mm, y - 5 * mm, head)
    y -= 7 * mm
    canvas.setStrokeColor(LINE)
    canvas.line(LEFT, y, RIGHT, y)
    if not rows:
        y -= 7 * mm
        canvas.setFillColor(MUTED)
        canvas.drawString(LEFT + 2 * mm, y + 2 * mm, "（没有可比对的项目）")
        return y
    for row in rows:
        y -= 7 * mm
        width = 48 * mm
        cells = (row.label, row.given, row.platform or "—", row.verdict or "—")
        for index, (x, text) in enumerate(zip(columns, cells, strict=False)):
            canvas.setFont(font, 9 if index else 9.5)
            canvas.setFillColor(INK)
            if index == 3 and row.differs:
                canvas.setFillColor(BAD)
            elif index == 3 and row.verdict == "一致":
                canvas.setFillColor(GOOD)
            canvas.drawString(x + 2 * mm, y + 2 * mm, _elide(text, width - 4 * mm, 9))
        canvas.setStrokeColor(LINE)
        canvas.line(LEFT, y, RIGHT, y)
    canvas.setFillColor(black)
    return y


def _wrap(text: str, width: float, size: float) -> list[str]:
    lines, current = [], ""
    for char in text:
        if text_width(current + char, size) > width and current:
            lines.append(current)
            current = char
        else:
            current += char
    if current:
        lines.append(current)
    return lines or [""]


def _elide(text: str, width: float, size: float) -> str:
    if text_width(text, size) <= width:
        return text
    while text and text_width(text + "…", size) > width:
        text = text[:-1]
    return text + "…"
