"""Combining what the sources read into one invoice, best source first, disagreements reported.

Per field, the value of the best source that has one wins (embedded structured data > QR code >
text layer > OCR, see result.SOURCE_RANK), and `sources` names it. Where sources disagree on the
number, code, date, amount, tax or total, `conflicts` says so, naming the field, every value and
its source: a QR code from one invoice inside another's file must not pass silently. The QR
amount is already in its proper field (价税合计 for 数电, 合计金额 for legacy: the rules' QrPayload
says which), so it is compared like for like.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from fapiao.verification.extraction import values
from fapiao.verification.extraction.limits import fail
from fapiao.verification.extraction.result import (
    FIELDS,
    LINE_KEYS,
    SOURCE_LABELS,
    Candidate,
    Extraction,
    Found,
)

CONFLICT_FIELDS = ("number", "code", "issue_date", "amount", "tax", "total")
FIELD_LABELS = {
    "type_code": "发票种类",
    "code": "发票代码",
    "number": "发票号码",
    "issue_date": "开票日期",
    "amount": "金额（不含税）",
    "tax": "税额",
    "total": "价税合计",
    "check_code": "校验码",
    "seller_name": "销售方名称",
    "seller_tax_id": "销售方纳税人识别号",
    "buyer_name": "购买方名称",
    "buyer_tax_id": "购买方纳税人识别号",
    "lines": "明细",
}


def merge(file: str, found: Found, *, kind: str | None = None) -> Extraction:
    candidates = sorted((c for c in found.candidates if c.has_data()), key=lambda c: c.rank)
    result = Extraction(
        file, False, kind=kind, pages=found.pages, pages_read=found.pages_read,
        notes=list(found.notes),
    )  # fmt: skip
    chosen: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for key in FIELDS:
        for candidate in candidates:
            value = candidate.fields.get(key)
            if value not in (None, "", []):
                chosen[key], sources[key] = value, candidate.source
                break
    _complete_totals(chosen, sources)

    evidence = any(c.evidence for c in candidates)
    identified = bool(chosen.get("number")) and any(
        chosen.get(k) is not None for k in ("issue_date", "total", "amount")
    )
    if not (evidence and identified):
        error = _why_not(found, candidates, chosen)
        result.error = error.as_dict()
        return result

    invoice: dict[str, Any] = {}
    for key in FIELDS:
        invoice[key] = _out(key, chosen.get(key))
    invoice["sources"] = {k: sources[k] for k in FIELDS if invoice.get(k) not in (None, [])}
    invoice["conflicts"] = conflicts(candidates)
    result.ok, result.invoice = True, invoice
    return result


def conflicts(candidates: list[Candidate]) -> list[dict[str, Any]]:
    found = []
    for key in CONFLICT_FIELDS:
        seen: list[tuple[str, Any, str]] = []  # (source, comparable value, printable value)
        for candidate in candidates:
            value = candidate.fields.get(key)
            if value in (None, ""):
                continue
            seen.append((candidate.source, _comparable(value), _text(key, value)))
        distinct = list(dict.fromkeys(v for _, v, _ in seen))
        if len(distinct) < 2:
            continue
        by_value: dict[str, list[str]] = {}
        for source, _, text in seen:
            by_value.setdefault(text, [])
            if source not in by_value[text]:
                by_value[text].append(source)
        described = "；".join(
            f"{'、'.join(SOURCE_LABELS.get(s, s) for s in srcs)}为 {text}"
            for text, srcs in by_value.items()
        )
        found.append(
            {
                "field": key,
                "values": [{"source": s, "value": t} for s, _, t in seen],
                "message": f"{FIELD_LABELS[key]}不一致：{described}",
            }
        )
    return found


def _complete_totals(chosen: dict[str, Any], sources: dict[str, str]) -> None:
    """Two of amount, tax and total give the third, marked as computed."""
    amount, tax, total = chosen.get("amount"), chosen.get("tax"), chosen.get("total")
    if total is None and amount is not None and tax is not None:
        chosen["total"], sources["total"] = amount + tax, "computed"
    elif tax is None and amount is not None and total is not None:
        chosen["tax"], sources["tax"] = total - amount, "computed"
    elif amount is None and tax is not None and total is not None:
        chosen["amount"], sources["amount"] = total - tax, "computed"


def _why_not(found: Found, candidates: list[Candidate], chosen: dict[str, Any]):
    if found.ocr_unavailable and not candidates and not found.qr_refusals:
        return fail("ocr_unavailable")
    if found.qr_refusals:
        detail = f"识别到的二维码不是发票二维码（{found.qr_refusals[0]}）"
        if not found.has_text:
            detail += "，文件中也没有可读的发票文字"
        return fail("not_invoice", detail=detail)
    if chosen.get("number"):
        return fail("not_invoice", detail="只找到类似发票号码的数字，缺少开票日期和金额或发票标题")
    if found.has_text:
        return fail(
            "not_invoice", detail="文件中的文字没有发票号码、开票日期等内容，也没有发票二维码"
        )
    return fail("not_invoice", detail="文件中没有文字，也没有识别到发票二维码")


def _comparable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return value.quantize(Decimal("0.01"))
    return value


def _text(key: str, value: Any) -> str:
    out = _out(key, value)
    return "" if out is None else str(out)


def _out(key: str, value: Any) -> Any:
    if value is None or value == "":
        return [] if key == "lines" else None
    if isinstance(value, Decimal):
        return values.money_str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if key == "lines":
        return [{k: line.get(k) for k in LINE_KEYS} for line in value]
    return value
