"""Fields from positioned text: the PDF text layer, OFD text objects, OCR boxes.

The input is one glyph per character with its box (top-left origin, y downwards, any unit).
Labels printed on the form (发票号码、开票日期、名称、纳税人识别号、价税合计（大写）、（小写）、
合计 ...) are found in rows of glyphs; a value is what stands right of its label in the label's
band, up to the next label or a wide gap. This works for the 数电 layout (buyer and seller side by
side) and the legacy layout (buyer above, seller below) alike: the first 名称 in reading order is
the buyer's. Where labels are missing or scrambled, patterns alone (a 20-digit 数电 number, a
date, ¥ amounts that add up to the 大写 total) fill in.
"""

from __future__ import annotations

import itertools
import re
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fapiao.rules import numbers
from fapiao.rules.text import nfkc
from fapiao.verification.extraction import values


@dataclass(frozen=True, slots=True)
class Glyph:
    char: str
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def cy(self) -> float:
        return (self.y0 + self.y1) / 2

    @property
    def h(self) -> float:
        return max(self.y1 - self.y0, 1e-6)


def glyph(char: str, x0: float, y0: float, x1: float, y1: float) -> Glyph | None:
    """A glyph with its character NFKC'd when that keeps it one character; None for spaces."""
    if not char or char.isspace():
        return None
    normal = nfkc(char)
    return Glyph(normal if len(normal) == 1 else char, min(x0, x1), min(y0, y1),
                 max(x0, x1), max(y0, y1))  # fmt: skip


def spread(text: str, x0: float, y0: float, x1: float, y1: float) -> list[Glyph]:
    """Glyphs for a text box whose characters have no positions of their own (OCR)."""
    chars = list(text)
    if not chars:
        return []
    step = (x1 - x0) / len(chars)
    found = [glyph(c, x0 + i * step, y0, x0 + (i + 1) * step, y1) for i, c in enumerate(chars)]
    return [g for g in found if g is not None]


LABELS: dict[str, str] = {
    "number": r"发票号码:?",
    "code": r"发票代码:?",
    "date": r"开票日期:?",
    "check": r"校验码:?",
    "machine": r"机器编号:?",
    "name": r"名称:",
    "tax_id": r"(?:统一社会信用代码/)?纳税人识别号:?",
    "address": r"地址、?电话:?",
    "bank": r"开户行及账号:?|开户银行:?|银行账号:?",
    "words": r"价税合计\(大写\)",
    "small": r"\(小写\)",
    "sum": r"(?<![税价小])合计(?!\()|总计",
    "password": r"密码区",
    "remarks": r"备注",
    "people": r"开票人:?|收款人:?|复核:?",
    "items": r"项目名称|货物或应税劳务、?服务名称",
    "downloads": r"下载次数:?",
}
_COMPILED = {name: re.compile(pattern) for name, pattern in LABELS.items()}
_COLUMNS = (
    ("name", re.compile(r"项目名称|货物或应税劳务、?服务名称")),
    ("spec", re.compile(r"规格型号")),
    ("unit", re.compile(r"单位")),
    ("quantity", re.compile(r"数量")),
    ("unit_price", re.compile(r"单价")),
    ("amount", re.compile(r"金额")),
    ("tax_rate", re.compile(r"税率/征收率|税率|征收率")),
    ("tax", re.compile(r"税额")),
)
_MONEY = re.compile(r"(¥)?\s*(-?[0-9][0-9,]*\.[0-9]{2})(?![0-9])")
_SIDE_LABELS = ("购买方", "销售方", "购方", "销方", "信息", "密码区", "备注", "下载次数")
_SIDE_LABEL_CHARS = frozenset("".join(_SIDE_LABELS))


@dataclass
class Hit:
    label: str
    row: int
    glyphs: list[Glyph]

    @property
    def x0(self) -> float:
        return min(g.x0 for g in self.glyphs)

    @property
    def x1(self) -> float:
        return max(g.x1 for g in self.glyphs)

    @property
    def cy(self) -> float:
        return statistics.fmean(g.cy for g in self.glyphs)

    @property
    def h(self) -> float:
        return statistics.median(g.h for g in self.glyphs)


@dataclass
class Layout:
    glyphs: list[Glyph]
    rows: list[list[Glyph]] = field(default_factory=list)
    hits: dict[str, list[Hit]] = field(default_factory=dict)
    label_glyphs: set[int] = field(default_factory=set)  # id() of glyphs inside labels
    vertical: set[int] = field(default_factory=set)  # id() of glyphs of vertical labels

    @classmethod
    def of(cls, glyphs: Iterable[Glyph]) -> Layout:
        layout = cls([g for g in glyphs if g is not None])
        layout.rows = _rows(layout.glyphs)
        layout.vertical = _vertical_labels(layout.glyphs)
        for name, pattern in _COMPILED.items():
            found = []
            for index, row in enumerate(layout.rows):
                text = "".join(g.char for g in row)
                for match in pattern.finditer(text):
                    found.append(Hit(name, index, row[match.start() : match.end()]))
            found.sort(key=lambda h: (h.row, h.x0))
            layout.hits[name] = found
            if name not in ("downloads",):
                layout.label_glyphs.update(id(g) for hit in found for g in hit.glyphs)
        return layout

    def row_texts(self) -> list[str]:
        return ["".join(g.char for g in row) for row in self.rows]

    def right_of(self, hit: Hit, *, max_gap: float | None = None) -> list[list[Glyph]]:
        """Glyphs right of `hit` in its band, as sub-rows top to bottom, each cut at the next
        label, at a vertical label's character and (with max_gap, in glyph heights) at a wide
        gap; with max_gap, a sub-row must also start near the label (a wrapped second line)."""
        height, right, centre = hit.h, hit.x1, hit.cy
        own = {id(x) for x in hit.glyphs}
        band = [
            g
            for g in self.glyphs
            if (g.x0 + g.x1) / 2 >= right - 0.25 * height
            and abs(g.cy - centre) <= 0.75 * max(height, min(g.h, 2 * height))
            and id(g) not in own
        ]
        found = []
        for sub in _rows(band):
            if max_gap is not None and sub[0].x0 - right > max_gap * max(height, sub[0].h):
                continue
            taken: list[Glyph] = []
            for g in sub:
                if id(g) in self.label_glyphs or id(g) in self.vertical:
                    break
                gap = g.x0 - taken[-1].x1 if taken else 0.0
                if max_gap is not None and gap > max_gap * max(height, g.h):
                    break
                taken.append(g)
            if taken:
                found.append(taken)
        return found

    def value(self, label: str, index: int = 0, *, max_gap: float | None = None) -> str:
        """The spaced text right of the index-th hit of `label` ('' when none)."""
        hits = self.hits.get(label) or []
        if index >= len(hits):
            return ""
        return " ".join(spaced(sub) for sub in self.right_of(hits[index], max_gap=max_gap))


def _vertical_labels(glyphs: list[Glyph]) -> set[int]:
    """Characters of labels written downwards (购买方信息, 销售方, 密码区, 备注): their id()s.

    Columns of stacked characters are formed first; only a column that spells one of the
    labels counts, so a 区 in a name above the 区 of an address is no label."""
    stacked = sorted((g for g in glyphs if g.char in _SIDE_LABEL_CHARS), key=lambda g: g.cy)
    columns: list[list[Glyph]] = []
    for g in stacked:
        for column in columns:
            last = column[-1]
            if abs(last.x0 - g.x0) < 0.5 * g.h and 0.3 * g.h < g.cy - last.cy < 4 * g.h:
                column.append(g)
                break
        else:
            columns.append([g])
    found: set[int] = set()
    for column in columns:
        text = "".join(g.char for g in column)
        if len(column) >= 2 and any(word in text for word in _SIDE_LABELS):
            found.update(id(g) for g in column)
    return found


def _rows(glyphs: list[Glyph]) -> list[list[Glyph]]:
    """Glyphs clustered into rows by vertical centre, each row left to right."""
    ordered = sorted(glyphs, key=lambda g: (g.cy, g.x0))
    rows: list[list[Glyph]] = []
    centres: list[float] = []
    heights: list[float] = []
    for g in ordered:
        if rows and abs(g.cy - centres[-1]) <= 0.5 * min(g.h, heights[-1]):
            rows[-1].append(g)
            n = len(rows[-1])
            centres[-1] += (g.cy - centres[-1]) / n
            heights[-1] = max(heights[-1], g.h) if n < 3 else heights[-1]
        else:
            rows.append([g])
            centres.append(g.cy)
            heights.append(g.h)
    for row in rows:
        row.sort(key=lambda g: g.x0)
    return rows


def spaced(glyphs: list[Glyph]) -> str:
    """Characters joined, with a space where the gap is wide for this run (and before ¥)."""
    if not glyphs:
        return ""
    gaps = [max(b.x0 - a.x1, 0.0) for a, b in itertools.pairwise(glyphs)]
    height = statistics.median(g.h for g in glyphs)
    typical = statistics.median(gaps) if gaps else 0.0
    threshold = max(0.8 * height, 2.5 * typical)
    out = [glyphs[0].char]
    for gap, g in zip(gaps, glyphs[1:], strict=False):
        if gap > threshold or g.char == "¥":
            out.append(" ")
        out.append(g.char)
    return "".join(out)


def _words(glyphs: list[Glyph]) -> list[list[Glyph]]:
    """A row split where `spaced` would put a space."""
    if not glyphs:
        return []
    gaps = [max(b.x0 - a.x1, 0.0) for a, b in itertools.pairwise(glyphs)]
    height = statistics.median(g.h for g in glyphs)
    typical = statistics.median(gaps) if gaps else 0.0
    threshold = max(0.8 * height, 2.5 * typical)
    words = [[glyphs[0]]]
    for gap, g in zip(gaps, glyphs[1:], strict=False):
        if gap > threshold or g.char == "¥":
            words.append([])
        words[-1].append(g)
    return words


def _split_numeric(word: list[Glyph], bounds: list[float]) -> list[list[Glyph]]:
    """A run of figures crossing a column boundary (quantity 1 beside a price) split there."""
    if not all(g.char.isdigit() or g.char in ".,%-" for g in word):
        return [word]
    parts: list[list[Glyph]] = [[word[0]]]
    for previous, g in itertools.pairwise(word):
        middle = (previous.x1 + g.x0) / 2
        if any(previous.x1 <= bound <= g.x0 or abs(bound - middle) < 0.1 * g.h for bound in bounds):
            parts.append([])
        parts[-1].append(g)
    return parts


def _last_money(text: str | None) -> Decimal | None:
    found = [m.group(2) for m in _MONEY.finditer((text or "").replace("￥", "¥"))]
    return values.parse_money(found[-1]) if found else None


def _money_values(text: str) -> list[tuple[Decimal, bool]]:
    """Amounts in a spaced string, each with whether a ¥ stood before it."""
    found = []
    for match in _MONEY.finditer(text.replace("￥", "¥")):
        amount = values.parse_money(match.group(2))
        if amount is not None:
            found.append((amount, bool(match.group(1))))
    return found


# Fields ----------------------------------------------------------------------------------------


def fields(layout: Layout) -> tuple[dict[str, Any], bool]:
    """Invoice fields read from one page's layout, and whether the page shows an invoice."""
    found: dict[str, Any] = {}
    texts = layout.row_texts()
    whole = "\n".join(texts)

    type_code = values.title_type(whole)
    if type_code:
        found["type_code"] = type_code

    number = values.digits(layout.value("number"))
    if len(number) in (8, 20):
        found["number"] = number
    code = values.digits(layout.value("code"))
    if len(code) in (10, 12):
        found["code"] = code
    if "number" not in found:
        number = _number_anywhere(texts, legacy=bool(code))
        if number:
            found["number"] = number

    issue_date = values.parse_date(layout.value("date")) or values.parse_date(whole)
    if issue_date:
        found["issue_date"] = issue_date

    check = values.digits(layout.value("check"))
    if len(check) == 20:
        found["check_code"] = check

    for index, side in enumerate(("buyer", "seller")):
        name = _name(layout.value("name", index, max_gap=3.5))
        if name:
            found[f"{side}_name"] = name
        tax_id = _tax_id(layout.value("tax_id", index, max_gap=3.5))
        if tax_id:
            found[f"{side}_tax_id"] = tax_id

    found.update(_amounts(layout, texts))
    lines = _lines(layout)
    if lines:
        found["lines"] = lines
    evidence = "发票" in whole.replace(" ", "") and "number" in found
    return found, evidence


def _name(text: str) -> str | None:
    name = values.clean(text).strip(":：;；,，")
    name = re.sub(r"\s+", "", name) if re.search(r"[\u4e00-\u9fff]", name) else name
    return name or None


def _tax_id(text: str) -> str | None:
    """The first word that is a tax ID: a stray character after a wide gap stays out."""
    for word in text.split():
        found = values.tax_id(word)
        if found:
            return found
    return values.tax_id(text)


def _number_anywhere(texts: list[str], *, legacy: bool) -> str | None:
    """A 20-digit 数电 number standing alone in a row, where no label led to one."""
    if legacy:
        return None
    for text in texts:
        for match in re.finditer(r"(?<![0-9])[0-9]{20}(?![0-9])", text):
            info = numbers.parse(None, match.group(0))
            if info.ok and info.kind is numbers.NumberKind.DIGITAL:
                return match.group(0)
    return None


def _amounts(layout: Layout, texts: list[str]) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    words = values.parse_capital(layout.value("words"))
    small = _money_values(layout.value("small"))
    figure = small[0][0] if small else None
    sums = layout.value("sum")
    row_values = [amount for amount, _ in _money_values(sums)]
    amount = tax = None
    if row_values:
        amount = row_values[0]
        if len(row_values) >= 2:
            tax = row_values[-1]
        elif "***" in sums or "*" in sums.replace(" ", "")[-3:]:
            tax = Decimal("0.00")
    total = figure
    words_add_up = amount is not None and tax is not None and amount + tax == words
    if words is not None and (figure is None or (figure != words and words_add_up)):
        total = words
    if total is not None and (amount is None or tax is None or amount + tax != total):
        pair = _pair_for(total, layout)
        if pair:
            amount, tax = pair
    for key, value in (("amount", amount), ("tax", tax), ("total", total)):
        if value is not None:
            out[key] = value
    return out


def _pair_for(total: Decimal, layout: Layout) -> tuple[Decimal, Decimal] | None:
    """Two ¥ amounts on the page adding up to the total: 合计金额 and 合计税额, left to right."""
    marked = [amount for row in layout.rows for amount, yen in _money_values(spaced(row)) if yen]
    for i, a in enumerate(marked):
        for t in marked[i + 1 :]:
            if a + t == total and a != total and t != total:
                return (a, t) if a >= t else (t, a)
    return None


def _lines(layout: Layout) -> list[dict[str, str | None]]:
    """Line items between the table header and the 合计 row, one per row with an amount."""
    headers = layout.hits.get("items") or []
    sums = layout.hits.get("sum") or []
    if not headers or not sums:
        return []
    header = headers[0]
    bottom = next((s for s in sums if s.cy > header.cy), None)
    if bottom is None:
        return []
    header_rows = [r for r in layout.rows if abs(statistics.fmean(g.cy for g in r) - header.cy)
                   <= 0.75 * header.h]  # fmt: skip
    centres: list[tuple[float, str]] = []
    for row in header_rows:
        text = "".join(g.char for g in row)
        for key, pattern in _COLUMNS:
            for match in pattern.finditer(text):
                span = row[match.start() : match.end()]
                centres.append(((span[0].x0 + span[-1].x1) / 2, key))
    keys = [k for _, k in centres]
    if "amount" not in keys or len(set(keys)) < 4:
        return []
    centres.sort()
    bounds = [(a[0] + b[0]) / 2 for a, b in itertools.pairwise(centres)]

    def column(x: float) -> str:
        for bound, (_, key) in zip(bounds, centres, strict=False):
            if x < bound:
                return key
        return centres[-1][1]

    items: list[dict[str, str | None]] = []
    top, end = header.cy + 0.75 * header.h, bottom.cy - 0.5 * bottom.h
    body = [r for r in layout.rows if top < statistics.fmean(g.cy for g in r) < end]
    for row in body:
        cells: dict[str, list[str]] = {}
        for word in _words([g for g in row if id(g) not in layout.label_glyphs]):
            for part in _split_numeric(word, bounds):
                centre = (part[0].x0 + part[-1].x1) / 2
                cells.setdefault(column(centre), []).append("".join(g.char for g in part))
        text = {k: " ".join(v) for k, v in cells.items()}
        amount = _last_money(text.get("amount"))
        if amount is not None:
            items.append(
                {
                    "name": _name(text.get("name", "")),
                    "spec": values.clean(text.get("spec")) or None,
                    "unit": values.squeeze(text.get("unit")) or None,
                    "quantity": values.plain_number(text.get("quantity")),
                    "unit_price": values.plain_number(text.get("unit_price")),
                    "amount": values.money_str(amount),
                    "tax_rate": values.plain_number(text.get("tax_rate")),
                    "tax": values.money_str(_last_money(text.get("tax"))),
                }
            )
        elif items and text.get("name"):
            previous = items[-1]
            previous["name"] = (previous["name"] or "") + (_name(text["name"]) or "")
            if text.get("spec"):
                previous["spec"] = (previous["spec"] or "") + values.clean(text["spec"])
    return items


def read_pages(pages: Iterable[list[Glyph]]) -> tuple[dict[str, Any], bool]:
    """Fields of several pages (first pages, then the last): per field, the first page's value."""
    combined: dict[str, Any] = {}
    evidence = False
    for page in pages:
        if not page:
            continue
        found, shows_invoice = fields(Layout.of(page))
        evidence = evidence or shows_invoice
        for key, value in found.items():
            if key not in combined and value not in (None, "", []):
                combined[key] = value
    return combined, evidence
