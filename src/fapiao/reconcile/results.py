"""A reconciliation's result: stored as Parquet, read a page at a time, turned into the JSON of
`fapiao reconcile --json` and into the Excel export (one sheet per category)."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from typing import IO

import polars as pl
import xlsxwriter

from fapiao.core.excel import neutralised
from fapiao.reconcile import engine

CATEGORY_LABELS = {
    engine.MATCHED: "一致",
    engine.MISSING_ON_PLATFORM: "平台缺失",
    engine.MISSING_IN_LEDGER: "账簿缺失",
    engine.MISMATCHED: "信息不一致",
    engine.PROBABLE_TYPO: "疑似录入错误",
    engine.PARTIAL: "部分匹配",
}
CATEGORY_HINTS = {
    engine.MATCHED: "账簿和平台一致",
    engine.MISSING_ON_PLATFORM: "账簿里有、平台上没有：可批量发起补录",
    engine.MISSING_IN_LEDGER: "平台上有、账簿里没有",
    engine.MISMATCHED: "同一张发票，日期、金额或对方信息不一致",
    engine.PROBABLE_TYPO: "账簿的发票号码与平台上的一张发票只差一处录入错误",
    engine.PARTIAL: "一行对多张发票、红字发票、重复记账等，仅列出，不强行匹配",
}
# JSON keys of the command's output, per category
JSON_KEYS = {
    engine.MISSING_ON_PLATFORM: "missing_on_platform",
    engine.MISSING_IN_LEDGER: "missing_in_ledger",
    engine.MISMATCHED: "mismatched",
    engine.PROBABLE_TYPO: "probable_typos",
    engine.PARTIAL: "partial",
}
FIELD_LABELS = {
    "number": "发票号码",
    "issue_date": "开票日期",
    "amount": "金额",
    "tax": "税额",
    "total": "价税合计",
    "counterparty_tax_id": "对方纳税人识别号",
    "counterparty_name": "对方名称",
    "side": "方向",
    "status": "发票状态",
}
KIND_LABELS = {
    engine.SPLIT: "一行对多张发票",
    engine.AMBIGUOUS: "号码对应多张发票",
    engine.NET_OF_RED: "按冲红后净额记账",
    engine.RED_UNDER_BLUE: "红字发票记在蓝字号码下",
    engine.DUPLICATE: "重复记账",
    engine.MANY_ROWS: "一张发票分多行记账",
    engine.REVERSAL: "冲销行（无红字发票）",
}
SIDE_LABELS = {"seller": "销项", "buyer": "进项"}
STATUS_LABELS = {0: "正常", 2: "作废", 3: "已红冲", 7: "部分红冲", 8: "全额红冲"}


def kind_label(kind: str | None) -> str:
    from fapiao.rules import nearmatch

    return KIND_LABELS.get(kind or "") or nearmatch.LABELS.get(kind or "", "")


def write(frame: pl.DataFrame | dict[str, pl.DataFrame]) -> bytes:
    """The result as Parquet, ordered by category and row, so that a category's rows sit
    together (the reader skips the others' row groups). Given the categories' frames (as the
    engine returns them), each is sorted on its own and they are not copied into one first: at
    a million rows that copy is a few hundred MB."""
    if isinstance(frame, dict):
        parts = [
            frame[c].sort("row", "number", nulls_last=True) for c in engine.CATEGORIES if c in frame
        ]
        frame = pl.concat(parts, how="vertical", rechunk=False)
        del parts
    else:
        order = {c: i for i, c in enumerate(engine.CATEGORIES)}
        frame = frame.with_columns(
            _o=pl.col("category").replace_strict(order, return_dtype=pl.Int8)
        )
        frame = frame.sort("_o", "row", "number", nulls_last=True).drop("_o")
    buffer = io.BytesIO()
    frame.write_parquet(buffer, compression="zstd", row_group_size=65536, statistics=True)
    return buffer.getvalue()


def scan(source) -> pl.LazyFrame:
    return pl.scan_parquet(source)


def select(
    source,
    *,
    category: str | None = None,
    query: str = "",
    kind: str = "",
) -> pl.LazyFrame:
    """The rows of a category (all when None), optionally those whose number contains `query`."""
    frame = scan(source)
    if category:
        frame = frame.filter(pl.col("category") == category)
    if kind:
        frame = frame.filter(pl.col("kind") == kind)
    if query:
        q = query.strip()
        frame = frame.filter(
            pl.col("number").str.contains(q, literal=True).fill_null(False)
            | pl.col("ledger_number").str.contains(q, literal=True).fill_null(False)
            | (pl.col("row").cast(pl.String) == q).fill_null(False)
        )
    return frame


def page(source, *, offset: int, limit: int, **filters) -> tuple[list[dict], int]:
    frame = select(source, **filters)
    total = frame.select(pl.len()).collect().item()
    rows = frame.slice(offset, limit).collect().to_dicts()
    return [present(r) for r in rows], total


# --- values as people read them ----------------------------------------------------------------


def yuan(cents: int | None) -> str | None:
    if cents is None:
        return None
    return f"{Decimal(cents).scaleb(-2):.2f}"


def grouped(cents: int | None) -> str | None:
    """Yuan with thousands separators, for pages: 1,068,077.98."""
    if cents is None:
        return None
    return f"{Decimal(cents).scaleb(-2):,.2f}"


def decimal(cents: int | None) -> Decimal | None:
    return None if cents is None else Decimal(cents).scaleb(-2).quantize(Decimal("0.01"))


def _value(field: str, record: dict, prefix: str) -> str | None:
    if field == "number":
        if prefix == "l_":
            code, number = record.get("ledger_code"), record.get("ledger_number")
        else:
            code, number = record.get("code"), record.get("number")
        return f"{code} {number}".strip() if code else number
    value = record.get(f"{prefix}{field}")
    if value is None:
        if field == "status" and prefix == "l_":
            return "已入账"
        return None
    if field in engine.MONEY_FIELDS:
        return yuan(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if field == "side":
        return SIDE_LABELS.get(value, value)
    if field == "status":
        return STATUS_LABELS.get(value, str(value))
    return str(value)


def differences(record: dict) -> list[dict]:
    names = [f for f in (record.get("fields") or "").split(",") if f]
    return [
        {
            "field": name,
            "label": FIELD_LABELS.get(name, name),
            "ledger": _value(name, record, "l_"),
            "platform": _value(name, record, "p_"),
        }
        for name in names
    ]


def present(record: dict) -> dict:
    """A result row with its money as yuan text and its differences listed, for pages."""
    out = dict(record)
    for prefix in ("l_", "p_"):
        for m in engine.MONEY_FIELDS:
            out[f"{prefix}{m}_yuan"] = grouped(record.get(f"{prefix}{m}"))
    out["differences"] = differences(record)
    out["kind_label"] = kind_label(record.get("kind"))
    out["amount_yuan"] = grouped(
        next(
            (record.get(k) for k in ("l_total", "p_total", "l_amount", "p_amount")
             if record.get(k) is not None),
            None,
        )
    )  # fmt: skip
    return out


def item(record: dict) -> dict:
    """One item of the command's JSON."""
    category = record["category"]
    out: dict = {}
    if record.get("row") is not None:
        out["row"] = record["row"]
    if category == engine.PARTIAL:
        out["kind"] = record["kind"]
        out["rows"] = [int(r) for r in (record.get("rows") or "").split(",") if r]
        out["numbers"] = [n for n in (record.get("numbers") or "").split(",") if n]
        out["ledger_number"] = record.get("ledger_number")
        out["message"] = record.get("message")
        if record.get("fields"):
            out["fields"] = differences(record)
        return out
    if category == engine.MISSING_ON_PLATFORM:
        out["code"] = record.get("ledger_code") or ""
        out["number"] = record.get("ledger_number")
        out["issue_date"] = _value("issue_date", record, "l_")
        out["total"] = yuan(record.get("l_total"))
        return out
    if category == engine.PROBABLE_TYPO:
        out["ledger_code"] = record.get("ledger_code") or ""
        out["ledger_number"] = record.get("ledger_number")
        out["pattern"] = record.get("kind")
    out["code"] = record.get("code") or ""
    out["number"] = record.get("number")
    if category == engine.MISSING_IN_LEDGER:
        out["issue_date"] = _value("issue_date", record, "p_")
        out["total"] = yuan(record.get("p_total"))
        out["counterparty_name"] = record.get("p_counterparty_name")
    if category in (engine.MISMATCHED, engine.PROBABLE_TYPO):
        out["fields"] = differences(record)
    return out


def as_json(frame: pl.DataFrame) -> dict:
    """The shape `fapiao reconcile --json` prints."""
    out: dict = {"matched": int((frame["category"] == engine.MATCHED).sum())}
    for category, key in JSON_KEYS.items():
        rows = frame.filter(pl.col("category") == category).to_dicts()
        out[key] = [item(r) for r in rows]
    return out


# --- Excel -------------------------------------------------------------------------------------

SHEET_COLUMNS = {
    engine.MATCHED: ("row", "l_number", "p_issue_date", "p_total", "p_counterparty_name"),
    engine.MISSING_ON_PLATFORM: ("row", "l_number", "l_issue_date", "l_amount", "l_tax", "l_total",
                                 "l_counterparty_name", "l_counterparty_tax_id"),
    engine.MISSING_IN_LEDGER: ("p_number", "p_issue_date", "p_amount", "p_tax", "p_total",
                               "p_counterparty_name", "p_counterparty_tax_id", "p_side"),
    engine.MISMATCHED: ("row", "p_number", "differences"),
    engine.PROBABLE_TYPO: ("row", "l_number", "p_number", "kind", "differences"),
    engine.PARTIAL: ("rows", "l_number", "numbers", "kind", "l_amount", "l_total", "p_amount",
                     "p_total", "differences", "message"),
}  # fmt: skip
# Where a sheet holds both sides' amounts, the titles say whose.
SHEET_TITLES = {
    engine.PARTIAL: {"l_amount": "账簿金额", "l_total": "账簿价税合计", "p_amount": "平台金额",
                     "p_total": "平台价税合计"},
}  # fmt: skip
SHEET_ROWS = 1_048_575  # an Excel sheet's rows below the header; more continue on another sheet
COLUMN_TITLES = {
    "row": "账簿行号",
    "rows": "账簿行号",
    "l_number": "账簿发票号码",
    "p_number": "平台发票号码",
    "numbers": "平台发票号码",
    "kind": "类型",
    "message": "说明",
    "differences": "不一致的字段（账簿 → 平台）",
    "l_issue_date": "开票日期",
    "p_issue_date": "开票日期",
    "l_amount": "金额",
    "p_amount": "金额",
    "l_tax": "税额",
    "p_tax": "税额",
    "l_total": "价税合计",
    "p_total": "价税合计",
    "l_counterparty_name": "对方名称",
    "p_counterparty_name": "对方名称",
    "l_counterparty_tax_id": "对方纳税人识别号",
    "p_counterparty_tax_id": "对方纳税人识别号",
    "p_side": "方向",
}


EXCEL_EPOCH = dt.date(1899, 12, 30)
_DIFFERENCE_CATEGORIES = (engine.MISMATCHED, engine.PROBABLE_TYPO, engine.PARTIAL)


def _identity(prefix: str) -> pl.Expr:
    code, number = ("ledger_code", "ledger_number") if prefix == "l_" else ("code", "number")
    return (
        pl.when(pl.col(code).fill_null("") != "")
        .then(pl.concat_str([pl.col(code), pl.lit(" "), pl.col(number)]))
        .otherwise(pl.col(number))
    )


def _sheet_columns(frame: pl.DataFrame, columns: tuple[str, ...]) -> list[tuple[str, list]]:
    """Each column of a sheet as (kind, values), computed column-wise: kind is "int", "money"
    (yuan as a number), "date" (an Excel serial) or "text"."""
    out = []
    for column in columns:
        if column in ("l_number", "p_number"):
            out.append(("text", frame.select(_identity(column[:2])).to_series().to_list()))
        elif column == "kind":
            labels = {k: kind_label(k) for k in frame["kind"].drop_nulls().unique().to_list()}
            out.append(("text", frame["kind"].replace_strict(labels, default=None).to_list()))
        elif column == "differences":
            texts = [
                "；".join(f"{d['label']}：{d['ledger'] or '—'} → {d['platform'] or '—'}"
                         for d in differences(record))
                for record in frame.select("fields", *[c for c in frame.columns
                                                      if c.startswith(("l_", "p_"))],
                                           "ledger_code", "ledger_number", "code", "number")
                .iter_rows(named=True)
            ]  # fmt: skip
            out.append(("text", texts))
        elif column == "p_side":
            out.append(
                ("text", frame["p_side"].replace_strict(SIDE_LABELS, default=None).to_list())
            )
        elif column.endswith(("_amount", "_tax", "_total")):
            # An Excel number cell holds a double: exact cents become the nearest one, as
            # float(Decimal) would; nothing is computed with it.
            out.append(("money", (frame[column] / 100).to_list()))
        elif column.endswith("_date"):
            serial = (frame[column] - pl.lit(EXCEL_EPOCH)).dt.total_days()
            out.append(("date", frame.select(serial).to_series().to_list()))
        elif column == "row":
            out.append(("int", frame[column].to_list()))
        else:
            out.append(("text", frame[column].cast(pl.String).to_list()))
    return out


def workbook(source, output: IO[bytes] | None = None) -> bytes | None:
    """One sheet per category, money as numbers, text made inert (formula injection). Written to
    `output` (a binary file) when given, each sheet's rows through a temporary file (xlsxwriter's
    constant_memory: the rows written are not kept); else returned, built in memory."""
    options = {"strings_to_formulas": False, "strings_to_urls": False,
               "strings_to_numbers": False}  # fmt: skip
    if output is None:
        buffer = io.BytesIO()
        book = xlsxwriter.Workbook(buffer, {**options, "in_memory": True})
    else:
        book = xlsxwriter.Workbook(output, {**options, "constant_memory": True})
    bold = book.add_format({"bold": True, "bg_color": "#F3F4F6", "border": 1})
    formats = {
        "money": book.add_format({"num_format": "#,##0.00"}),
        "date": book.add_format({"num_format": "yyyy-mm-dd"}),
        "int": None,
    }
    for category in engine.CATEGORIES:
        columns = SHEET_COLUMNS[category]
        titles = {**COLUMN_TITLES, **SHEET_TITLES.get(category, {})}
        whole = select(source, category=category).collect()
        # A category longer than a sheet continues on "平台缺失 (2)", "平台缺失 (3)"...
        for part, start in enumerate(range(0, max(whole.height, 1), SHEET_ROWS), 1):
            label = CATEGORY_LABELS[category]
            sheet = book.add_worksheet(label if part == 1 else f"{label} ({part})")
            for c, column in enumerate(columns):
                sheet.write_string(0, c, titles[column], bold)
                wide = column in ("differences", "message", "l_counterparty_name",
                                  "p_counterparty_name", "numbers")  # fmt: skip
                sheet.set_column(c, c, 48 if wide else 22)
            sheet.freeze_panes(1, 0)
            _write_rows(sheet, _sheet_columns(whole.slice(start, SHEET_ROWS), columns), formats)
        del whole
    book.close()
    return buffer.getvalue() if output is None else None


def _write_rows(sheet, prepared: list[tuple[str, list]], formats: dict) -> None:
    write_number, write_string = sheet.write_number, sheet.write_string
    # constant_memory: rows are written in order, each row's cells left to right
    for r, values in enumerate(zip(*(v for _, v in prepared), strict=True), 1):
        for c, value in enumerate(values):
            if value is None:
                continue
            kind = prepared[c][0]
            if kind == "text":
                write_string(r, c, neutralised(value))
            else:
                write_number(r, c, value, formats[kind])
