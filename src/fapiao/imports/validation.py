"""Validating a whole file at once: every row parsed, checked and grouped into invoices, in polars.

The tax rules stay in `fapiao.rules`. For a million rows they are applied two ways, both giving
the rules' own answer:
- once per distinct value, for the columns with few distinct values (tax IDs, rates, types,
  statuses) and for whatever is unusual (full-width digits, a number that is not of a valid
  shape: `numbers.parse` explains what is wrong with it);
- vectorised, for what every row has (the 20-digit number of the normal shape, plain ASCII
  amounts, the arithmetic), with constants derived from the rules (regions, tolerances).

Money is handled as integer cents and rates as integers of 1/10000, so the arithmetic is exact
and ROUND_HALF_UP matches the rules' Decimal arithmetic to the cent.

The result is a `Plan`: the file's invoices in file order (`units`), their lines, and every
problem with its row (as Excel shows it), column header, stable code and Chinese message.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache

import polars as pl

from fapiao.imports import fields
from fapiao.imports.errors import ImportErrorCode as E
from fapiao.imports.reading import ROW, Table
from fapiao.invoices.models import MONEY, Invoice, InvoiceLine, InvoiceStatus
from fapiao.rules import RulesError, nearmatch, numbers, regions, tax, text, types, uscc
from fapiao.rules.problems import ProblemCode as P
from fapiao.rules.problems import errors as errors_of
from fapiao.rules.problems import warnings as warnings_of

RATE_SCALE = 10_000  # 13% → 1300, 1.5% → 150
CENTS = int(1 / tax.CENT)
LINE_TAX_CENTS = int(tax.LINE_TAX_TOLERANCE / tax.CENT)
ACCUMULATED_SCALED = int(tax.ACCUMULATED_TAX_TOLERANCE / tax.CENT) * RATE_SCALE
MONEY_INTEGER_DIGITS = MONEY["max_digits"] - MONEY["decimal_places"]
_QUANTITY = InvoiceLine._meta.get_field("quantity")
QUANTITY_INTEGER_DIGITS = _QUANTITY.max_digits - _QUANTITY.decimal_places
QUANTITY_PLACES = _QUANTITY.decimal_places
EXEMPTION_MAX = InvoiceLine._meta.get_field("exemption").max_length
EARLIEST_DATE = dt.date(1990, 1, 1)
EXCEL_EPOCH = dt.date(1899, 12, 30)
SERIAL_RANGE = (
    (EARLIEST_DATE - EXCEL_EPOCH).days,
    (dt.date(2099, 12, 31) - EXCEL_EPOCH).days,
)
# Rates tried, in this order, when a line has none: the current ones first.
_INFER_RATES = tuple(r.value for r in (*tax.RATES, *tax.HISTORIC_RATES))
# Invoice columns that every row of a multi-line invoice repeats, and must agree on.
_INVOICE_COLUMNS = (
    "type_code",
    "issue_date",
    "seller_name",
    "seller_tax_id",
    "buyer_name",
    "buyer_tax_id",
    "status",
)
_TEXT_LIMITS = {
    key: (Invoice if key in {"seller_name", "buyer_name", "check_code", "drawer"} else InvoiceLine)
    ._meta.get_field({"item_name": "name"}.get(key, key))
    .max_length
    for key in ("seller_name", "buyer_name", "check_code", "drawer", "item_name", "spec", "unit")
}


# Raw and intermediate columns that nothing reads after the amounts are checked.
_PARSED_ALREADY = (
    "code", "number", "digital_number", "amount", "tax", "total", "rate", "rate_v", "quantity",
    "unit_price", "tax_code", "type_v", "status_v", "type_hint",
    "amount_bad", "tax_bad", "total_bad",
)  # fmt: skip


@dataclass
class Context:
    tax_id: str  # the importing organization's
    organization_id: int | None = None
    today: dt.date = field(default_factory=dt.date.today)
    default_type: str = ""
    # tax IDs → ids of the platform's organizations with them
    organizations: Callable[[list[str]], dict[str, int]] = lambda tax_ids: {}


@dataclass
class Plan:
    rows: int  # data rows (blank rows are not counted)
    units: pl.DataFrame  # one per invoice, in file order (`inv` 0, 1, ...)
    lines: pl.DataFrame  # lines of the valid invoices
    # inv, row, column, code, message, is_warning, invoice_number, invoice_code
    problems: pl.DataFrame
    headers: dict[str, str]  # field key → the file's header (or the field's label)
    # PostgreSQL: the plan's names are in the search dictionary already (see writing).
    names_added: bool = False

    @property
    def invoices(self) -> int:
        return self.units.height


PROBLEM_SCHEMA = {
    "row": pl.Int64,
    "column": pl.String,
    "code": pl.String,
    "message": pl.String,
    "is_warning": pl.Boolean,
}


class Problems:
    """Rejections collected per column (shared with the ledger reader of reconciliation)."""

    def __init__(self, headers: dict[str, str]):
        self.headers = headers
        self.frames: list[pl.DataFrame] = []

    def add(
        self,
        df: pl.DataFrame,
        mask: pl.Expr,
        key: str,
        code: str | pl.Expr,
        message: pl.Expr | str,
        *,
        warning: bool = False,
    ) -> None:
        hit = df.filter(mask)
        if hit.height == 0:
            return
        message_expr = pl.lit(message) if isinstance(message, str) else message
        code_expr = code if isinstance(code, pl.Expr) else pl.lit(str(code))
        self.frames.append(
            hit.select(
                pl.col(ROW).alias("row"),
                pl.lit(self.headers[key]).alias("column"),
                code_expr.cast(pl.String).alias("code"),
                message_expr.cast(pl.String).alias("message"),
                pl.lit(warning).alias("is_warning"),
            )
        )

    def add_rows(self, rows: list[tuple[int, str, str, str, bool]]) -> None:
        """(row, field key, code, message, is_warning) found in Python."""
        if rows:
            self.frames.append(
                pl.DataFrame(
                    [(r, self.headers[k], str(c), m, w) for r, k, c, m, w in rows],
                    schema=PROBLEM_SCHEMA,
                    orient="row",
                )
            )

    def frame(self) -> pl.DataFrame:
        if not self.frames:
            return pl.DataFrame(schema=PROBLEM_SCHEMA)
        return pl.concat(self.frames)

    def bad_rows(self) -> pl.Series:
        return self.frame().filter(~pl.col("is_warning"))["row"].unique()


# --- helpers -----------------------------------------------------------------------------------


def _via_distinct(values: pl.Series, fn: Callable, dtype: pl.DataType) -> pl.Series:
    """fn applied once per distinct value (nulls stay null)."""
    distinct = values.drop_nulls().unique()
    mapped = [fn(v) for v in distinct.to_list()]
    return values.replace_strict(distinct, pl.Series(mapped, dtype=dtype), default=None)


_PLAIN = r"^[\x21-\x7e]*$"  # printable ASCII without spaces


def normalize_codes(values: pl.Series) -> pl.Series:
    """rules.text.normalize_code, vectorised where the value is plain ASCII."""
    plain = values.str.contains(_PLAIN)
    odd = values.filter(~plain.fill_null(True) & values.is_not_null())
    if odd.len() == 0:
        return values.str.to_uppercase()
    fixed = _via_distinct(odd, text.normalize_code, pl.String)
    table = pl.DataFrame({"k": odd, "v": fixed}).unique("k")
    mapped = values.replace_strict(table["k"], table["v"], default=None)
    return pl.select(pl.when(plain).then(values.str.to_uppercase()).otherwise(mapped)).to_series()


def _amount_texts(values: pl.Series) -> pl.Series:
    """What rules.text.to_decimal reads, as plain decimal text; "!" for what it refuses."""
    simple = values.str.contains(r"^[\x20-\x7e¥￥]*$")
    cleaned = values.str.replace_all(r"[\s,¥￥]", "")
    odd = values.filter(~simple.fill_null(True) & values.is_not_null())
    if odd.len() == 0:
        return cleaned

    def read(v: str) -> str:
        d = text.to_decimal(v)
        return "!" if d is None else f"{d:f}"

    table = pl.DataFrame({"k": odd}).unique("k")
    table = table.with_columns(v=_via_distinct(table["k"], read, pl.String))
    mapped = values.replace_strict(table["k"], table["v"], default=None)
    return pl.select(pl.when(simple).then(cleaned).otherwise(mapped)).to_series()


_DECIMAL = r"^([+-]?)([0-9]*)(?:\.([0-9]*))?$"


def _decimal_parts(values: pl.Series) -> pl.DataFrame:
    """sign, integer digits (leading zeros dropped), fraction digits; ok false where refused."""
    texts = _amount_texts(values)
    groups = texts.str.extract_groups(_DECIMAL)
    parts = pl.DataFrame(
        {
            "present": values.is_not_null(),
            "neg": groups.struct.field("1") == "-",
            "int": groups.struct.field("2").str.strip_chars_start("0"),
            "frac": groups.struct.field("3").fill_null(""),
        }
    )
    matched = groups.struct.field("2").is_not_null()
    has_digits = (groups.struct.field("2") != "") | (groups.struct.field("3").fill_null("") != "")
    return parts.with_columns(ok=pl.Series(matched & has_digits).fill_null(False))


def money_cents(values: pl.Series) -> pl.DataFrame:
    """cents (Int64), and why a present value is refused: bad, precision, too_large."""
    p = _decimal_parts(values)
    frac = pl.col("frac")
    precise = frac.str.slice(2).str.contains(r"^0*$")
    too_large = pl.col("int").str.len_chars() > MONEY_INTEGER_DIGITS
    usable = pl.col("ok") & precise & ~too_large
    magnitude = pl.col("int").replace("", "0").cast(
        pl.Int64, strict=False
    ) * CENTS + frac.str.slice(0, 2).str.pad_end(2, "0").cast(pl.Int64, strict=False)
    return p.select(
        cents=pl.when(usable).then(pl.when(pl.col("neg")).then(-magnitude).otherwise(magnitude)),
        bad=pl.col("present") & ~pl.col("ok"),
        precision=pl.col("present") & pl.col("ok") & ~precise,
        too_large=pl.col("present") & pl.col("ok") & precise & too_large,
    )


def _quantity(values: pl.Series) -> pl.DataFrame:
    """Decimal text as stored (sign, digits, at most 13 places), and bad."""
    p = _decimal_parts(values)
    frac = pl.col("frac").str.strip_chars_end("0")
    fits = (pl.col("int").str.len_chars() <= QUANTITY_INTEGER_DIGITS) & (
        frac.str.len_chars() <= QUANTITY_PLACES
    )
    usable = pl.col("ok") & fits
    number = pl.concat_str(
        [
            pl.when(pl.col("neg")).then(pl.lit("-")).otherwise(pl.lit("")),
            pl.col("int").replace("", "0"),
            pl.when(frac != "").then(pl.concat_str([pl.lit("."), frac])).otherwise(pl.lit("")),
        ]
    )
    return p.select(
        text=pl.when(usable).then(number),
        bad=pl.col("present") & ~usable,
    )


def _round_half_up(numerator: pl.Expr, denominator: int | pl.Expr) -> pl.Expr:
    """ROUND_HALF_UP(numerator / denominator) for integers: halves away from zero, as Decimal."""
    magnitude = (numerator.abs() * 2 + denominator) // (denominator * 2)
    return pl.when(numerator < 0).then(-magnitude).otherwise(magnitude)


def _tax_series(amount: pl.Series, rate: int) -> pl.Series:
    return pl.select(line_tax(pl.lit(amount), rate)).to_series()


def line_tax(amount: pl.Expr, rate: pl.Expr | int) -> pl.Expr:
    """tax.round2(amount × rate), in cents, with the rate in 1/10000."""
    return _round_half_up(amount * rate, RATE_SCALE)


def _yuan(cents: pl.Expr) -> pl.Expr:
    """Cents as the rules print amounts: 1234.50, -0.05."""
    magnitude = cents.abs()
    return pl.concat_str(
        [
            pl.when(cents < 0).then(pl.lit("-")).otherwise(pl.lit("")),
            (magnitude // CENTS).cast(pl.String),
            pl.lit("."),
            (magnitude % CENTS).cast(pl.String).str.pad_start(2, "0"),
        ]
    )


@cache
def _digital_regions() -> tuple[str, ...]:
    return tuple(c for c in (f"{i:02d}" for i in range(100)) if regions.region_from_digital(c))


@cache
def _legacy_regions() -> tuple[str, ...]:
    return tuple(c for c in (f"{i:04d}" for i in range(10000)) if regions.region_from_legacy(c))


def _header_key(value: str) -> str:
    return fields.normalize_header(value)


@cache
def _type_index() -> dict[str, str]:
    index: dict[str, str] = {}
    qr = types.all_types(types.Channel.QR)
    for t in qr:
        index.setdefault(_header_key(t.code), t.code)
    for t in qr:
        index.setdefault(_header_key(t.name), t.code)
        index.setdefault(_header_key(t.short_name), t.code)
    for channel in (types.Channel.ACCOUNT, types.Channel.XML):
        for t in types.all_types(channel):
            converted = types.convert(t, types.Channel.QR)
            if converted is not None:
                if channel is types.Channel.ACCOUNT:
                    index.setdefault(_header_key(t.code), converted.code)
                index.setdefault(_header_key(t.name), converted.code)
                index.setdefault(_header_key(t.short_name), converted.code)
    for alias, code in (("全电专票", "31"), ("全电普票", "32"), ("数电票(专票)", "31")):
        index.setdefault(_header_key(alias), code)
    index.setdefault(_header_key("数电票(普票)"), "32")
    return index


def type_code_of(value: str) -> str | None:
    return _type_index().get(_header_key(value))


@cache
def _status_index() -> dict[str, int]:
    index = {}
    for value, label in InvoiceStatus.choices:
        index[_header_key(str(label))] = value
        index[str(value)] = value
    index.setdefault(_header_key("已作废"), InvoiceStatus.VOIDED)
    index.setdefault(_header_key("红冲"), InvoiceStatus.RED_LETTERED)
    return index


# --- the pipeline ------------------------------------------------------------------------------


def build(table: Table, mapping: dict[str, str], ctx: Context, *, release: bool = False) -> Plan:
    headers = {f.key: mapping.get(f.key) or f.label for f in fields.FIELDS}
    present = {k for k, v in mapping.items() if v and v in table.headers}
    df = _select(table, mapping, present)
    if release:  # the caller is done with the file's cells: free them for the checks
        table.frame = table.frame.clear()
    problems = Problems(headers)

    df = _check_numbers(df, ctx, problems)
    df = check_dates(df, ctx, problems)
    df = _check_parties(df, ctx, problems)
    df = _check_texts(df, problems)
    df = _check_types_and_status(df, ctx, problems)
    df = _check_amounts(df, problems, present)
    df = df.drop(_PARSED_ALREADY, strict=False)  # a million rows: keep only what is still used
    has_items = "item_name" in present
    makes_lines = has_items or "rate" in present
    df = _group(df, problems, has_items=has_items)
    df = _check_invoice_arithmetic(df, problems)
    if makes_lines:
        df = _infer_rates(df, problems)
    units, df = _finish(df, problems, ctx)
    lines = _lines(df, makes_lines)
    problem_frame = _attach_units(problems.frame(), df)
    return Plan(df.height, units, lines, problem_frame, headers)


def _select(table: Table, mapping: dict[str, str], present: set[str]) -> pl.DataFrame:
    columns = [pl.col(ROW)]
    for f in fields.FIELDS:
        if f.key in present:
            raw = pl.col(table.column(mapping[f.key])).str.strip_chars()
            columns.append(pl.when(raw != "").then(raw).alias(f.key))
        else:
            columns.append(pl.lit(None, dtype=pl.String).alias(f.key))
    df = table.frame.lazy().select(columns)
    keys = [f.key for f in fields.FIELDS if f.key in present]
    if keys:
        df = df.filter(pl.any_horizontal([pl.col(k).is_not_null() for k in keys]))
    # What a row says, for telling a repeated row from a conflicting one: hashed as a struct,
    # field by field, so that no row-long string is built.
    signature = pl.struct([pl.col(f.key) for f in fields.FIELDS]).hash()
    # Streamed in batches: the stripped copy of a million rows is built once, not once per step.
    df = df.with_columns(sig=signature).collect(engine="streaming")
    return df if df[ROW].is_sorted() else df.sort(ROW)  # file order, whatever the engine did


def _check_numbers(df: pl.DataFrame, ctx: Context, problems: Problems) -> pl.DataFrame:
    digital = df["digital_number"]
    number_raw = pl.select(pl.coalesce(digital, df["number"])).to_series().fill_null("")
    code_raw = pl.select(
        pl.when(digital.is_not_null()).then(pl.lit("")).otherwise(df["code"])
    ).to_series()
    code = normalize_codes(code_raw.fill_null(""))
    number = normalize_codes(number_raw)
    this_year = ctx.today.year
    num, cod = pl.col("n"), pl.col("c")
    fast_digital = (
        num.str.contains(r"^[0-9]{20}$")
        & (cod == "")
        & num.str.slice(0, 2)
        .cast(pl.Int32, strict=False)
        .is_between(numbers.FIRST_DIGITAL_YEAR - 2000, this_year - 2000)
        & num.str.slice(2, 2).is_in(_digital_regions())
    )
    fast_legacy = (
        num.str.contains(r"^[0-9]{8}$")
        & (num != "0" * numbers.LEGACY_NUMBER_LENGTH)
        & (
            (cod.str.contains(r"^[0-9]{10}$") & cod.str.slice(0, 4).is_in(_legacy_regions()))
            | (cod.str.contains(r"^0[0-9]{11}$") & cod.str.slice(1, 4).is_in(_legacy_regions()))
        )
    )
    pairs = pl.DataFrame({ROW: df[ROW], "c": code, "n": number}).with_columns(
        fast=fast_digital | fast_legacy
    )
    slow = pairs.filter(~pl.col("fast"))
    digital_rows = set(df.filter(pl.col("digital_number").is_not_null())[ROW].to_list())

    def number_key(row: int) -> str:
        return "digital_number" if row in digital_rows else "number"

    found: list[tuple[int, str, str, str, bool]] = []
    fixed: dict[int, tuple[str, str, str]] = {}  # row → code, number, type hint
    cache_: dict[tuple[str, str], numbers.NumberInfo] = {}
    for row, c, n in slow.select(ROW, "c", "n").iter_rows():
        info = cache_.get((c, n))
        if info is None:
            info = cache_[(c, n)] = numbers.parse(c or None, n or None, today=ctx.today)
        for p in errors_of(info.problems):
            message = p.message
            if info.suggestions:
                code_s, number_s = info.suggestions[0]
                message += f"（可能是：{(code_s + ' ') if code_s else ''}{number_s}）"
            key = "code" if p.field == "code" else number_key(row)
            found.append((row, key, p.code, message, False))
        for p in warnings_of(info.problems):
            key = "code" if p.field == "code" else number_key(row)
            found.append((row, key, p.code, p.message, True))
        if info.ok:
            hint = info.type_hint.code if info.type_hint else ""
            fixed[row] = (info.code or "", info.number, hint)
    problems.add_rows(found)
    ok_slow = pl.DataFrame(
        [(r, c, n, h) for r, (c, n, h) in fixed.items()],
        schema={ROW: pl.Int64, "c2": pl.String, "n2": pl.String, "type_hint": pl.String},
        orient="row",
    )
    pairs = pairs.join(ok_slow, on=ROW, how="left", maintain_order="left")
    df = df.with_columns(
        code_n=pl.when(pairs["fast"]).then(pairs["c"]).otherwise(pairs["c2"]),
        number_n=pl.when(pairs["fast"]).then(pairs["n"]).otherwise(pairs["n2"]),
        type_hint=pairs["type_hint"],
    )
    # An unreadable number as the finder would be asked it (full-width to ASCII, no spaces, the
    # letters as typed): its problems carry it, so that the finder can still say why.
    unread = pl.select(
        pl.when(df["number_n"].is_null() & (number_raw != "")).then(number_raw)
    ).to_series()
    return df.with_columns(number_typed=_via_distinct(unread, nearmatch.normalize, pl.String))


_DATE_YMD = (
    r"^([0-9]{4})[-/.年]([0-9]{1,2})[-/.月]([0-9]{1,2})日?"
    r"(?:[ T][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)?$"
)


def check_dates(df: pl.DataFrame, ctx: Context, problems: Problems) -> pl.DataFrame:
    raw = df["issue_date"]
    s = raw.str.normalize("NFKC").str.replace_all(r"\s+", " ").str.strip_chars()
    ymd = s.str.extract_groups(_DATE_YMD)
    compact = s.str.extract_groups(r"^([0-9]{4})([0-9]{2})([0-9]{2})$")
    serial = s.str.extract(r"^([0-9]{5})(?:\.[0-9]+)?$", 1).cast(pl.Int64, strict=False)

    def iso(groups: pl.Series) -> pl.Expr:
        return pl.concat_str(
            [
                pl.lit(groups.struct.field("1")),
                pl.lit(groups.struct.field("2")).str.pad_start(2, "0"),
                pl.lit(groups.struct.field("3")).str.pad_start(2, "0"),
            ],
            separator="-",
        ).str.to_date("%Y-%m-%d", strict=False)

    serial_ok = serial.is_between(*SERIAL_RANGE)
    parsed = pl.select(
        pl.coalesce(
            iso(ymd),
            iso(compact),
            pl.when(pl.lit(serial_ok)).then(pl.lit(EXCEL_EPOCH) + pl.duration(days=pl.lit(serial))),
        ).alias("d")
    ).to_series()
    parsed = pl.select(
        pl.when(parsed >= EARLIEST_DATE).then(parsed).otherwise(None).alias("d")
    ).to_series()
    df = df.with_columns(issue_date_v=parsed)
    problems.add(
        df,
        pl.col("issue_date").is_null(),
        "issue_date",
        E.VALUE_MISSING,
        "请填写开票日期",
    )
    problems.add(
        df,
        pl.col("issue_date").is_not_null() & pl.col("issue_date_v").is_null(),
        "issue_date",
        E.DATE_INVALID,
        pl.format(
            "无法识别的日期“{}”：请写成 2025-05-30、2025/5/30、2025年5月30日 或 20250530",
            pl.col("issue_date"),
        ),
    )
    problems.add(
        df,
        pl.col("issue_date_v") > ctx.today,
        "issue_date",
        E.DATE_FUTURE,
        pl.format(
            "开票日期 {} 晚于今天（{}）", pl.col("issue_date_v"), pl.lit(ctx.today.isoformat())
        ),
    )
    return df


def _uscc_verdict(value: str) -> tuple[bool, str, str, str, str]:
    """(well formed, error code, error message, warning code, warning message)."""
    check = uscc.check(value)
    errors = errors_of(check.problems)
    warnings = warnings_of(check.problems)
    return (
        check.ok,
        str(errors[0].code) if errors else "",
        "；".join(p.message for p in errors),
        str(warnings[0].code) if warnings else "",
        "；".join(p.message for p in warnings),
    )


_VERDICT = pl.Struct(
    {"ok": pl.Boolean, "ec": pl.String, "em": pl.String, "wc": pl.String, "wm": pl.String}
)


def _check_parties(df: pl.DataFrame, ctx: Context, problems: Problems) -> pl.DataFrame:
    seller = normalize_codes(df["seller_tax_id"])
    buyer = normalize_codes(df["buyer_tax_id"])
    ids = pl.concat([seller, buyer]).drop_nulls().unique()
    verdicts = pl.DataFrame({"id": ids}).with_columns(
        v=pl.Series(
            [dict(zip(("ok", "ec", "em", "wc", "wm"), _uscc_verdict(i), strict=True)) for i in ids],
            dtype=_VERDICT,
        )
    )
    df = df.with_columns(seller_tax_id_n=seller, buyer_tax_id_n=buyer)
    for side in ("seller", "buyer"):
        column = f"{side}_tax_id_n"
        df = df.join(
            verdicts.rename({"id": column, "v": f"{side}_v"}),
            on=column,
            how="left",
            maintain_order="left",
        )
        v = pl.col(f"{side}_v")
        key = f"{side}_tax_id"
        label = "销售方" if side == "seller" else "购买方"
        problems.add(
            df,
            v.struct.field("ok").not_(),
            key,
            pl.col(f"{side}_v").struct.field("ec"),
            pl.format("{}纳税人识别号“{}”：{}", pl.lit(label), pl.col(key), v.struct.field("em")),
        )
        problems.add(
            df,
            v.struct.field("ok") & (v.struct.field("wc") != ""),
            key,
            P.USCC_CHECKSUM,
            pl.format("{}纳税人识别号“{}”：{}", pl.lit(label), pl.col(key), v.struct.field("wm")),
            warning=True,
        )
    problems.add(
        df,
        pl.col("seller_tax_id").is_null(),
        "seller_tax_id",
        P.USCC_EMPTY,
        "请填写销售方纳税人识别号",
    )
    sold = pl.col("seller_tax_id_n") == ctx.tax_id
    bought = pl.col("buyer_tax_id_n") == ctx.tax_id
    df = df.with_columns(sold=sold.fill_null(False), bought=bought.fill_null(False))
    problems.add(
        df,
        pl.col("seller_tax_id_n").is_not_null() & ~pl.col("sold") & ~pl.col("bought"),
        "seller_tax_id",
        E.NOT_OWN_INVOICE,
        pl.format(
            "销售方（{}）和购买方（{}）都不是本单位（{}）：只能导入本单位开具或取得的发票",
            pl.col("seller_tax_id_n"),
            pl.col("buyer_tax_id_n").fill_null("无税号"),
            pl.lit(ctx.tax_id),
        ),
    )
    return df.drop("seller_v", "buyer_v")


def _check_texts(df: pl.DataFrame, problems: Problems) -> pl.DataFrame:
    for key, label in (("seller_name", "销售方名称"), ("buyer_name", "购买方名称")):
        problems.add(df, pl.col(key).is_null(), key, E.VALUE_MISSING, f"请填写{label}")
    for key, limit in _TEXT_LIMITS.items():
        problems.add(
            df,
            pl.col(key).str.len_chars() > limit,
            key,
            E.TOO_LONG,
            pl.format(
                "{}最多 {} 个字，这里有 {} 个",
                pl.lit(fields.BY_KEY[key].label),
                pl.lit(limit),
                pl.col(key).str.len_chars(),
            ),
        )
    tax_code = normalize_codes(df["tax_code"])
    df = df.with_columns(tax_code_n=tax_code)
    problems.add(
        df,
        pl.col("tax_code_n").is_not_null() & ~pl.col("tax_code_n").str.contains(r"^[0-9]{19}$"),
        "tax_code",
        E.TAX_CODE_INVALID,
        pl.format("税收分类编码应为 19 位数字，这里是“{}”", pl.col("tax_code")),
    )
    return df


def _check_types_and_status(df: pl.DataFrame, ctx: Context, problems: Problems) -> pl.DataFrame:
    type_v = _via_distinct(df["type_code"], type_code_of, pl.String)
    status_v = _via_distinct(df["status"], lambda v: _status_index().get(_header_key(v)), pl.Int16)
    df = df.with_columns(
        type_v=type_v,
        status_v=status_v,
    )
    problems.add(
        df,
        pl.col("type_code").is_not_null() & pl.col("type_v").is_null(),
        "type_code",
        E.TYPE_UNKNOWN,
        pl.format(
            "无法识别的发票类型“{}”：可写 数电专票、数电普票、增值税专用发票、增值税普通发票，"
            "或类型代码（如 31、32、01、04）",
            pl.col("type_code"),
        ),
    )
    problems.add(
        df,
        pl.col("status").is_not_null() & pl.col("status_v").is_null(),
        "status",
        E.STATUS_UNKNOWN,
        pl.format(
            "无法识别的发票状态“{}”：可写 正常、作废、已红冲、部分红冲、全额红冲", pl.col("status")
        ),
    )
    default = ctx.default_type or None
    # Legacy codes hint at their type (a hint only; the file's type comes first).
    hint_of = pl.when(pl.col("type_v").is_null() & (pl.col("code_n").fill_null("") != "")).then(
        pl.col("code_n")
    )
    hints = _via_distinct(df.select(hint_of).to_series(), _code_type_hint, pl.String)
    df = df.with_columns(
        type_final=pl.coalesce(
            pl.col("type_v"),
            pl.lit(default, dtype=pl.String),
            pl.when(pl.col("type_hint") != "").then(pl.col("type_hint")),
            hints,
        ),
        status_final=pl.coalesce(pl.col("status_v"), pl.lit(int(InvoiceStatus.NORMAL))).cast(
            pl.Int16
        ),
    )
    problems.add(
        df,
        pl.col("type_code").is_null()
        & pl.col("type_final").is_null()
        & pl.col("number_n").is_not_null(),
        "type_code",
        E.TYPE_MISSING,
        "请填写发票类型（如 数电专票、数电普票）：数电发票无法从号码看出类型",
    )
    return df


def _code_type_hint(code: str) -> str | None:
    info = numbers.parse(code, "0" * (numbers.LEGACY_NUMBER_LENGTH - 1) + "1")
    return info.type_hint.code if info.type_hint else None


def _rate_verdict(value: str) -> dict:
    try:
        rate, exemption = tax.parse_rate_or_exemption(value)
    except RulesError as refused:
        return {"e4": None, "ex": "", "txt": None, "ec": refused.problem.code, "em": str(refused)}
    known = tax.rate_for(rate)
    if exemption is tax.TaxExemption.NONE and known is None:
        return {
            "e4": None,
            "ex": "",
            "txt": None,
            "ec": P.RATE_UNKNOWN,
            "em": f"税率 {tax.percent(rate)} 不是现行或曾经有效的税率、征收率",
        }
    stored = "" if exemption is tax.TaxExemption.NONE else str(exemption)
    if len(stored) > EXEMPTION_MAX:
        stored = ""  # the line's column cannot hold it; the rate (0) is kept
    return {
        "e4": int(rate * RATE_SCALE),
        "ex": stored,
        "txt": f"{rate:f}",
        "ec": "",
        "em": "",
    }


_RATE = pl.Struct(
    {"e4": pl.Int64, "ex": pl.String, "txt": pl.String, "ec": pl.String, "em": pl.String}
)


def _check_amounts(df: pl.DataFrame, problems: Problems, present: set[str]) -> pl.DataFrame:
    labels = {"amount": "金额", "tax": "税额", "total": "价税合计"}
    for key, label in labels.items():
        m = money_cents(df[key])
        df = df.with_columns(m["cents"].alias(f"{key}_c"), m["bad"].alias(f"{key}_bad"))
        df = df.with_columns(
            (m["bad"] | m["precision"] | m["too_large"]).alias(f"{key}_bad"),
        )
        problems.add(
            df.with_columns(m["bad"].alias("_m")),
            pl.col("_m"),
            key,
            E.AMOUNT_INVALID,
            pl.format("无法识别的{}“{}”", pl.lit(label), pl.col(key)),
        )
        problems.add(
            df.with_columns(m["precision"].alias("_m")),
            pl.col("_m"),
            key,
            P.PRECISION,
            pl.format("{} {} 最多两位小数", pl.lit(label), pl.col(key)),
        )
        problems.add(
            df.with_columns(m["too_large"].alias("_m")),
            pl.col("_m"),
            key,
            E.AMOUNT_TOO_LARGE,
            pl.format("{} {} 超出范围", pl.lit(label), pl.col(key)),
        )
    verdicts = _via_distinct(df["rate"], _rate_verdict, _RATE)
    df = df.with_columns(rate_v=verdicts)
    r = pl.col("rate_v")
    problems.add(
        df,
        r.struct.field("ec").fill_null("") != "",
        "rate",
        r.struct.field("ec"),
        pl.format("{}", r.struct.field("em")),
    )
    df = df.with_columns(
        rate_e4=r.struct.field("e4"),
        exemption=r.struct.field("ex").fill_null(""),
        rate_txt=r.struct.field("txt"),
        rate_bad=(r.struct.field("ec").fill_null("") != ""),
    )
    for key, label in (("quantity", "数量"), ("unit_price", "单价")):
        q = _quantity(df[key])
        df = df.with_columns(q["text"].alias(f"{key}_t"))
        problems.add(
            df.with_columns(q["bad"].alias("_m")),
            pl.col("_m"),
            key,
            E.NUMBER_INVALID,
            pl.format("无法识别的{}“{}”", pl.lit(label), pl.col(key)),
        )

    # Derive what is missing, as the rules would (tax from amount × rate; amount from the total).
    a, t, x = pl.col("amount_c"), pl.col("tax_c"), pl.col("total_c")
    rate = pl.col("rate_e4")
    zero = (pl.col("exemption") != "") | (rate == 0)
    rate_tax = pl.when(zero).then(pl.lit(0, dtype=pl.Int64)).otherwise(line_tax(a, rate))
    any_bad = pl.col("amount_bad") | pl.col("tax_bad") | pl.col("total_bad") | pl.col("rate_bad")
    from_total = _round_half_up(x * RATE_SCALE, rate + RATE_SCALE)
    amount_final = (
        pl.when(a.is_not_null())
        .then(a)
        .when(x.is_not_null() & t.is_not_null())
        .then(x - t)
        .when(x.is_not_null() & rate.is_not_null() & t.is_null())
        .then(from_total)
    )
    df = df.with_columns(a1=pl.when(~any_bad).then(amount_final))
    a1 = pl.col("a1")
    tax_final = (
        pl.when(t.is_not_null())
        .then(t)
        .when(a.is_not_null() & rate.is_not_null())
        .then(rate_tax)
        .when(a1.is_not_null() & x.is_not_null())
        .then(x - a1)
    )
    df = df.with_columns(t1=pl.when(~any_bad & a1.is_not_null()).then(tax_final))
    problems.add(
        df,
        ~any_bad & pl.col("a1").is_null(),
        "amount" if "amount" in present or "total" not in present else "total",
        E.VALUE_MISSING,
        "缺少金额：请填写金额、税额、价税合计中的两项（或其中一项加税率）",
    )
    problems.add(
        df,
        ~any_bad & pl.col("a1").is_not_null() & pl.col("t1").is_null(),
        "tax",
        E.VALUE_MISSING,
        "缺少税额：请填写税额，或税率，或价税合计",
    )
    t1 = pl.col("t1")
    problems.add(
        df,
        (t1 * a1) < 0,
        "tax",
        P.SIGN,
        "税额与金额的正负号不一致",
    )
    problems.add(
        df,
        zero & (t1 != 0) & t.is_not_null(),
        "tax",
        P.TAX_NOT_ZERO,
        pl.format(
            "{}项目的税额应为 0，而不是 {}",
            pl.when(pl.col("exemption") == tax.TaxExemption.EXEMPT.value)
            .then(pl.lit("免税"))
            .otherwise(pl.lit("零税率")),
            _yuan(t1),
        ),
    )
    expected = line_tax(a1, rate)
    problems.add(
        df,
        ~zero & t.is_not_null() & ((t1 - expected).abs() > LINE_TAX_CENTS),
        "tax",
        P.TAX_MISMATCH,
        pl.format(
            "税额 {} 与 金额×税率 = {} 相差超过 ±{}",
            _yuan(t1),
            _yuan(expected),
            pl.lit(str(tax.LINE_TAX_TOLERANCE)),
        ),
    )
    mismatched = _price_mismatches(df)
    if mismatched.height:
        checked = df.join(mismatched, on=["quantity_t", "unit_price_t", "a1"], how="left")
        problems.add(
            checked,
            pl.col("_product").is_not_null(),
            "amount",
            P.AMOUNT_MISMATCH,
            pl.format(
                "数量×单价 = {}，与金额 {} 相差超过 ±{}",
                pl.col("_product"),
                _yuan(a1),
                pl.lit(str(tax.PRICE_TOLERANCE)),
            ),
        )
    return df


def _price_mismatches(df: pl.DataFrame) -> pl.DataFrame:
    """(quantity, unit price, amount) whose quantity × unit price is off the amount by more than
    the rules' tolerance, with the product as the rules print it. Decimal arithmetic, as in
    `tax.check_line`, once per distinct triple (quantity and unit price have up to 13 places,
    beyond what integers in a column could multiply exactly)."""
    triples = df.select("quantity_t", "unit_price_t", "a1").drop_nulls().unique()
    found = []
    for quantity, unit_price, cents in triples.iter_rows():
        product = Decimal(quantity) * Decimal(unit_price)
        if abs(product - Decimal(cents).scaleb(-2)) > tax.PRICE_TOLERANCE:
            found.append((quantity, unit_price, cents, str(tax.round2(product))))
    return pl.DataFrame(
        found,
        schema={
            "quantity_t": pl.String,
            "unit_price_t": pl.String,
            "a1": df.schema["a1"],
            "_product": pl.String,
        },
        orient="row",
    )


def _group(df: pl.DataFrame, problems: Problems, *, has_items: bool) -> pl.DataFrame:
    """Rows → invoices (`unit`, numbered in file order). A row whose number is unusable is an
    invoice of its own. With an item column, the rows of one invoice are its lines; without,
    a repeated invoice is a duplicate row (identical) or a conflict (different)."""
    key = (
        pl.when(pl.col("number_n").is_not_null())
        .then(pl.concat_str([pl.col("code_n"), pl.lit("|"), pl.col("number_n")]))
        .otherwise(pl.concat_str([pl.lit("!"), pl.col(ROW).cast(pl.String)]))
    )
    df = df.with_columns(key=key)
    # A window over a million one-row groups is slow: only the rows whose identity repeats are
    # grouped; every other row is an invoice of one row.
    repeated = df.filter(pl.col("key").is_duplicated()).select(
        ROW,
        first_row=pl.col(ROW).min().over("key"),
        n_in_unit=pl.len().over("key"),
        idx_in_unit=pl.int_range(pl.len()).over("key"),
    )
    df = df.join(repeated, on=ROW, how="left", maintain_order="left").with_columns(
        first_row=pl.col("first_row").fill_null(pl.col(ROW)),
        n_in_unit=pl.col("n_in_unit").fill_null(1),
        idx_in_unit=pl.col("idx_in_unit").fill_null(0),
    )
    df = df.with_columns(inv=pl.col("first_row").rank("dense").cast(pl.Int64) - 1)
    df = df.with_columns(dup_row=pl.lit(False))
    multi = pl.col("n_in_unit") > 1
    several = df.filter(multi)  # whole invoices: every row of an invoice of several rows
    if has_items:
        for column in _INVOICE_COLUMNS:
            value = {"type_code": "type_code", "status": "status"}.get(column, column)
            first = pl.col(value).first().over("inv")
            differs = multi & ~(
                (pl.col(value) == first).fill_null(pl.col(value).is_null() & first.is_null())
            )
            problems.add(
                several,
                differs,
                column,
                E.ROWS_DISAGREE,
                pl.format(
                    "同一发票的各行{}应相同：第 {} 行是“{}”，本行是“{}”",
                    pl.lit(fields.BY_KEY[column].label),
                    pl.col("first_row"),
                    first.fill_null(""),
                    pl.col(value).fill_null(""),
                ),
            )
    else:
        same = pl.col("sig") == pl.col("sig").first().over("inv")
        all_same = same.all().over("inv")
        several = several.with_columns(dup_row=multi & all_same & (pl.col("idx_in_unit") > 0))
        duplicates = several.filter(pl.col("dup_row"))[ROW]
        df = df.with_columns(dup_row=pl.col(ROW).is_in(duplicates.implode()))
        problems.add(
            several,
            pl.col("dup_row"),
            "number",
            E.DUPLICATE_IN_FILE,
            pl.format("与第 {} 行完全相同，已跳过", pl.col("first_row")),
            warning=True,
        )
        rows_of = pl.col(ROW).cast(pl.String).str.join("、").over("inv")
        problems.add(
            several,
            multi & ~all_same,
            "number",
            E.DUPLICATE_IN_FILE_CONFLICT,
            pl.format(
                "同一张发票在文件中出现多次（第 {} 行），内容不同：请只保留正确的一行", rows_of
            ),
        )
    return df.drop("sig")


def _check_invoice_arithmetic(df: pl.DataFrame, problems: Problems) -> pl.DataFrame:
    live = ~pl.col("dup_row")
    df = df.with_columns(
        sum_a=pl.col("a1").filter(live).sum().over("inv"),
        sum_t=pl.col("t1").filter(live).sum().over("inv"),
    )
    a1, t1, x = pl.col("a1"), pl.col("t1"), pl.col("total_c")
    invoice_total = pl.col("sum_a") + pl.col("sum_t")
    line_ok = x == a1 + t1
    repeated_ok = x == invoice_total
    problems.add(
        df,
        live & x.is_not_null() & a1.is_not_null() & t1.is_not_null() & ~line_ok & ~repeated_ok,
        "total",
        P.TOTAL_MISMATCH,
        pl.when(pl.col("n_in_unit") == 1)
        .then(pl.format("价税合计 {} 不等于 金额 + 税额 = {}", _yuan(x), _yuan(a1 + t1)))
        .otherwise(
            pl.format(
                "价税合计 {} 既不等于本行 金额 + 税额 = {}，也不等于整张发票的合计 {}",
                _yuan(x),
                _yuan(a1 + t1),
                _yuan(invoice_total),
            )
        ),
    )
    rate = pl.col("rate_e4")
    taxed = live & rate.is_not_null() & (pl.col("exemption") == "") & a1.is_not_null()
    drift = pl.when(taxed).then(t1 * RATE_SCALE - a1 * rate).otherwise(0)
    df = df.with_columns(drift=drift.sum().over("inv"))
    problems.add(
        df,
        (pl.col("idx_in_unit") == 0) & (pl.col("drift").abs() > ACCUMULATED_SCALED),
        "tax",
        P.TAX_ACCUMULATED,
        pl.format(
            "各行税额与 金额×税率 的累计误差为 {}，超过 ±{}",
            _yuan(_round_half_up(pl.col("drift"), RATE_SCALE)),
            pl.lit(str(tax.ACCUMULATED_TAX_TOLERANCE)),
        ),
    )
    red = invoice_total < 0
    problems.add(
        df,
        live & red & (a1 > 0),
        "amount",
        P.SIGN,
        "红字发票（价税合计为负数）的各行金额应为负数",
    )
    return df


def _infer_rates(df: pl.DataFrame, problems: Problems) -> pl.DataFrame:
    """A line needs a rate: where the row has none, the known rate that its tax fits best."""
    a1, t1 = pl.col("a1"), pl.col("t1")
    need = pl.col("rate_e4").is_null() & ~pl.col("rate_bad") & a1.is_not_null() & t1.is_not_null()
    best = df.select(need=need, e4=pl.lit(None, dtype=pl.Int64), gap=pl.lit(None, dtype=pl.Int64))
    if best["need"].any():
        for value in reversed(_INFER_RATES):  # earlier rates win ties
            rate = int(value * RATE_SCALE)
            gap = pl.Series((df["t1"] - df["a1"].pipe(_tax_series, rate)).abs())
            better = (gap <= LINE_TAX_CENTS) & (best["gap"].is_null() | (gap <= best["gap"]))
            better = better.fill_null(False)
            best = best.with_columns(
                e4=pl.when(better).then(pl.lit(rate)).otherwise(pl.col("e4")),
                gap=pl.when(better).then(gap).otherwise(pl.col("gap")),
            )
        zero = ((df["t1"] == 0).fill_null(False)).alias("zero")
        inferred = best.with_columns(zero).select(
            pl.when(pl.col("zero")).then(pl.lit(0, dtype=pl.Int64)).otherwise(pl.col("e4"))
        )
        df = df.with_columns(
            rate_e4=pl.when(best["need"]).then(inferred.to_series()).otherwise(pl.col("rate_e4"))
        )
    texts = {int(v * RATE_SCALE): f"{v:f}" for v in (*_INFER_RATES, Decimal("0.00"))}
    as_text = pl.col("rate_e4").replace_strict(
        list(texts), list(texts.values()), default=None, return_dtype=pl.String
    )
    df = df.with_columns(
        rate_txt=pl.when(need & pl.col("rate_e4").is_not_null())
        .then(as_text)
        .otherwise(pl.col("rate_txt"))
    )
    problems.add(
        df,
        need & pl.col("rate_e4").is_null(),
        "rate",
        E.RATE_MISSING,
        "无法确定税率：请填写税率（如 13%）",
    )
    return df


def _finish(
    df: pl.DataFrame, problems: Problems, ctx: Context
) -> tuple[pl.DataFrame, pl.DataFrame]:
    bad_rows = problems.bad_rows()
    df = df.with_columns(row_bad=pl.col(ROW).is_in(bad_rows.implode()))
    # A set lookup, not a window over a million groups.
    bad_invoices = df.filter(pl.col("row_bad"))["inv"].unique()
    df = df.with_columns(unit_bad=pl.col("inv").is_in(bad_invoices.implode()))
    bad_list = pl.col(ROW).filter(pl.col("row_bad")).cast(pl.String).str.join("、").over("inv")
    problems.add(
        df,
        pl.col("unit_bad") & ~pl.col("row_bad"),
        "number",
        E.INVOICE_REJECTED,
        pl.format("同一张发票的第 {} 行有错误，整张发票未导入", bad_list),
    )
    counterparty_ids = (
        pl.concat(
            [
                df.filter(~pl.col("sold"))["seller_tax_id_n"],
                df.filter(~pl.col("bought"))["buyer_tax_id_n"],
            ]
        )
        .drop_nulls()
        .unique()
        .to_list()
    )
    known = ctx.organizations(counterparty_ids) if counterparty_ids else {}
    orgs = pl.DataFrame(
        {"tid": list(known), "oid": list(known.values())},
        schema={"tid": pl.String, "oid": pl.Int64},
    )

    def org_of(column: str, own: str) -> pl.Expr:
        other = pl.col(column).replace_strict(orgs["tid"], orgs["oid"], default=None)
        return (
            pl.when(pl.col(own)).then(pl.lit(ctx.organization_id, dtype=pl.Int64)).otherwise(other)
        )

    live = ~pl.col("dup_row")
    units = (
        df.group_by("inv")
        .agg(
            first_row=pl.col(ROW).min(),
            n_rows=pl.len(),
            n_dup_rows=pl.col("dup_row").sum(),
            ok=~pl.col("unit_bad").first(),
            type_code=pl.col("type_final").first(),
            code=pl.col("code_n").first(),
            number=pl.col("number_n").first(),
            issue_date=pl.col("issue_date_v").first(),
            seller_name=pl.col("seller_name").first(),
            seller_tax_id=pl.col("seller_tax_id_n").first(),
            buyer_name=pl.col("buyer_name").first(),
            buyer_tax_id=pl.col("buyer_tax_id_n").first().fill_null(""),
            amount=pl.col("a1").filter(live).sum(),
            tax=pl.col("t1").filter(live).sum(),
            status=pl.col("status_final").first(),
            seller_org_id=org_of("seller_tax_id_n", "sold").first(),
            buyer_org_id=org_of("buyer_tax_id_n", "bought").first(),
            check_code=pl.col("check_code").first().fill_null(""),
            drawer=pl.col("drawer").first().fill_null(""),
            remarks=pl.col("remarks").drop_nulls().first().fill_null(""),
        )
        .sort("inv")
        .with_columns(total=pl.col("amount") + pl.col("tax"))
        .with_columns(is_red=pl.col("total") < 0)
    )
    return units, df


def _lines(df: pl.DataFrame, makes_lines: bool) -> pl.DataFrame:
    live = df.filter(~pl.col("unit_bad") & ~pl.col("dup_row"))
    if not makes_lines:
        live = live.head(0)
    return live.select(
        "inv",
        pl.col(ROW).alias("row"),
        position=(pl.col("idx_in_unit") + 1).cast(pl.Int32),
        name=pl.col("item_name").fill_null(""),
        tax_code=pl.col("tax_code_n").fill_null(""),
        spec=pl.col("spec").fill_null(""),
        unit_of_measure=pl.col("unit").fill_null(""),
        quantity=pl.col("quantity_t"),
        unit_price=pl.col("unit_price_t"),
        amount=pl.col("a1"),
        rate=pl.col("rate_txt"),
        tax=pl.col("t1"),
        exemption=pl.col("exemption"),
    )


def _attach_units(problems: pl.DataFrame, df: pl.DataFrame) -> pl.DataFrame:
    """Each problem with its invoice (`inv`) and the row's 发票号码 and 发票代码 as read; where
    the number could not be read, the text the row has instead, and no code."""
    units = df.select(pl.col(ROW).alias("row"), "inv", "number_n", "number_typed", "code_n")
    read = pl.col("number_n").is_not_null()
    return (
        problems.join(units, on="row", how="left")
        .unique(["row", "column", "code", "message"], maintain_order=True)
        .sort("inv", "row", maintain_order=True)
        .with_columns(
            invoice_number=pl.coalesce("number_n", "number_typed", pl.lit("")),
            invoice_code=pl.when(read).then(pl.col("code_n")).fill_null(""),
        )
        .drop("number_n", "number_typed", "code_n")
    )
