"""Reading a company's ledger (台账) for reconciliation.

The file goes through the import's tolerant reader (`fapiao.imports.reading`: encodings, title rows,
XLSX) and its header detection (`fapiao.imports.fields`: Chinese and English names, synonyms,
full-width forms); a ledger adds the counterparty columns that an import file never has (对方单位,
客户名称, 供应商...). Only the invoice number is required.

Values are parsed with the import's normalizers, vectorised: codes and numbers (full-width to
ASCII, spaces removed; letters are kept, since O for 0 is a typo to report, not to fix silently),
dates (2025-05-30, 2025/5/30, 2025年5月30日, 20250530, Excel serials), amounts (¥, commas,
full-width digits) as integer cents. A value that cannot be read is a problem naming the row (as
Excel numbers it), the column and the value; the row still takes part with that field left out.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import polars as pl

from fapiao.imports import fields as import_fields
from fapiao.imports import reading, validation
from fapiao.imports.fields import normalize_header
from fapiao.imports.reading import ROW, FileError

# The ledger's fields: keys shared with the import keep the import's detection; the counterparty
# columns are the ledger's own.
IMPORT_KEYS = (
    "type_code",
    "code",
    "number",
    "digital_number",
    "issue_date",
    "amount",
    "tax",
    "total",
    "seller_name",
    "seller_tax_id",
    "buyer_name",
    "buyer_tax_id",
    "remarks",
)


@dataclass(frozen=True, slots=True)
class LedgerField:
    key: str
    label: str
    synonyms: tuple[str, ...] = ()


OWN_FIELDS = (
    LedgerField(
        "counterparty_name",
        "对方名称",
        (
            "对方单位",
            "对方单位名称",
            "往来单位",
            "往来单位名称",
            "客户名称",
            "客户",
            "供应商名称",
            "供应商",
            "客商名称",
            "客商",
            "对方户名",
            "counterparty",
            "counterpartyname",
            "customer",
            "supplier",
            "partner",
        ),
    ),
    LedgerField(
        "counterparty_tax_id",
        "对方纳税人识别号",
        (
            "对方税号",
            "对方识别号",
            "对方统一社会信用代码",
            "客户税号",
            "客户纳税人识别号",
            "供应商税号",
            "供应商纳税人识别号",
            "往来单位税号",
            "税号",
            "纳税人识别号",
            "统一社会信用代码",
            "counterpartytaxid",
            "taxid",
        ),
    ),
)
FIELD_KEYS = (*IMPORT_KEYS, "counterparty_name", "counterparty_tax_id")
LABELS: dict[str, str] = {
    **{k: import_fields.BY_KEY[k].label for k in IMPORT_KEYS},
    **{f.key: f.label for f in OWN_FIELDS},
}
LABELS["number"] = "发票号码"
REQUIRED = ("number",)
_OWN_INDEX: dict[str, str] = {}
for _f in OWN_FIELDS:
    for _name in (_f.label, *_f.synonyms):
        _OWN_INDEX[normalize_header(_name)] = _f.key

# A cell naming several invoices: 12345678/12345679, "…，…", "…、…".
MULTI_SEPARATORS = r"[,;/、，；]+"


class LedgerError(Exception):
    """The ledger cannot be compared at all (unreadable file, no invoice-number column)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class Detection:
    mapping: dict[str, str]  # field key → header, found exactly once
    ambiguous: dict[str, list[str]]  # field key → the headers that all name it
    unknown: list[str]

    @property
    def missing(self) -> list[str]:
        return missing_required(self.mapping)

    @property
    def clear(self) -> bool:
        return not self.ambiguous and not self.missing


def missing_required(mapping: dict[str, str]) -> list[str]:
    have = {k for k, v in mapping.items() if v}
    if "number" in have or "digital_number" in have:
        return []
    return [LABELS["number"]]


def detect(headers: list[str]) -> Detection:
    imported = import_fields.detect(headers)
    found: dict[str, list[str]] = {}
    for key, header in imported.mapping.items():
        if key in IMPORT_KEYS:
            found.setdefault(key, []).append(header)
    for key, many in imported.ambiguous.items():
        if key in IMPORT_KEYS:
            found.setdefault(key, []).extend(many)
    unknown = []
    for header in imported.unknown:
        key = _OWN_INDEX.get(normalize_header(header))
        if key is None:
            unknown.append(header)
        else:
            found.setdefault(key, []).append(header)
    mapping = {k: v[0] for k, v in found.items() if len(v) == 1}
    ambiguous = {k: v for k, v in found.items() if len(v) > 1}
    return Detection(mapping, ambiguous, unknown)


@dataclass
class Problem:
    row: int
    column: str
    message: str
    code: str = ""  # number_as_float, number_missing, date_invalid, amount_invalid, ...

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "code": self.code,
                "message": self.message}  # fmt: skip


@dataclass
class Ledger:
    """The ledger's rows, parsed. `frame` has: row, code, number (normalised, "" when absent),
    issue_date (Date), amount, tax, total (Int64 cents), counterparty_name, counterparty_tax_id,
    seller_name, seller_tax_id, buyer_name, buyer_tax_id, type_code, remarks (String)."""

    frame: pl.DataFrame
    rows: int  # data rows read (blank ones not counted)
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    headers: dict[str, str] = field(default_factory=dict)  # field key → the file's header
    file_format: str = ""
    encoding: str = ""
    header_row: int = 1


MAX_PROBLEMS = 1000  # kept for the page; the count covers them all


def read_table(data: bytes, name: str = "") -> reading.Table:
    """The import's reader: it names what is wrong with a file it cannot read as a table
    (e.g. the line where a quote opens and never closes)."""
    try:
        return reading.read(data, name)
    except FileError as refused:
        raise LedgerError(refused.code, refused.message) from refused


def read(
    data: bytes, name: str = "", *, mapping: dict[str, str] | None = None, today: dt.date
) -> Ledger:
    """The ledger as a frame. Without `mapping` the header is detected, and an unclear one is
    a LedgerError naming what is missing or ambiguous."""
    table = read_table(data, name)
    if mapping is None:
        detection = detect(table.headers)
        if detection.ambiguous:
            key, headers = next(iter(detection.ambiguous.items()))
            raise LedgerError(
                "column_ambiguous",
                f"账簿中有多列都像“{LABELS[key]}”：{'、'.join(headers)}，请只保留一列，"
                "或在网页上选定其中一列",
            )
        if detection.missing:
            raise LedgerError(
                "column_missing",
                f"账簿中没有“{'、'.join(detection.missing)}”列（表头在第 {table.header_row} 行："
                f"{'、'.join(h for h in table.headers if h) or '空'}）：请把该列的表头写成"
                "“发票号码”，或在网页上对应各列",
            )
        mapping = detection.mapping
    return parse(table, mapping, today=today)


def parse(table: reading.Table, mapping: dict[str, str], *, today: dt.date) -> Ledger:
    present = {k: v for k, v in mapping.items() if k in FIELD_KEYS and v in table.headers}
    headers = {k: present.get(k) or LABELS[k] for k in FIELD_KEYS}
    columns = [pl.col(ROW)]
    for key in FIELD_KEYS:
        if key in present:
            raw = pl.col(table.column(present[key])).str.strip_chars()
            columns.append(pl.when(raw != "").then(raw).alias(key))
        else:
            columns.append(pl.lit(None, dtype=pl.String).alias(key))
    df = table.frame.select(columns)
    used = [k for k in FIELD_KEYS if k in present]
    if used:
        df = df.filter(pl.any_horizontal([pl.col(k).is_not_null() for k in used]))
    else:
        df = df.clear()
    problems: list[pl.DataFrame] = []

    def add(mask: pl.Series, key: str, code: str, message: pl.Expr) -> None:
        hit = df.filter(mask)
        if hit.height:
            problems.append(
                hit.select(
                    pl.col(ROW).alias("row"),
                    pl.lit(headers[key]).alias("column"),
                    pl.lit(code).alias("code"),
                    message.alias("message"),
                )
            )

    # Identity: a 数电 number column wins over a number column, as in the import.
    number_raw = df.select(pl.coalesce("digital_number", "number")).to_series()
    code_raw = df.select(
        pl.when(pl.col("digital_number").is_not_null()).then(pl.lit("")).otherwise("code")
    ).to_series()
    number = validation.normalize_codes(number_raw.fill_null("")).str.strip_chars_start("'")
    code = validation.normalize_codes(code_raw.fill_null("")).str.strip_chars_start("'")
    number_key = "digital_number" if "digital_number" in present else "number"
    # Excel keeps a long number typed as a number in 15 significant digits: the rest is lost.
    mangled = number.str.contains(r"^[0-9.]+E\+?[0-9]+$")
    add(
        mangled,
        number_key,
        "number_as_float",
        pl.format(
            "发票号码“{}”被 Excel 存成了数值，末几位已经丢失：请把该列设为文本格式后重新填写",
            pl.col(number_key).fill_null(pl.col("number")),
        ),
    )
    # A legacy number whose leading zeros a spreadsheet dropped (code given, 1-7 digits).
    short_legacy = code.str.contains(r"^[0-9]{10}$|^[0-9]{12}$") & number.str.contains(
        r"^[0-9]{1,7}$"
    )
    number = pl.select(
        pl.when(short_legacy).then(number.str.pad_start(8, "0")).otherwise(number)
    ).to_series()
    no_number = (number == "") & ~mangled
    add(no_number, number_key, "number_missing", pl.lit("没有发票号码，这一行未参与对账"))
    df = df.with_columns(code=code, number=number, _skip=mangled | no_number)

    if "issue_date" in present:
        # 2025-05-30 as most ledgers write it, parsed directly; the import's reader of every
        # other form (2025/5/30, 2025年5月30日, 20250530, Excel serials) takes the rest only.
        iso = df["issue_date"].str.to_date("%Y-%m-%d", strict=False)
        iso = pl.select(pl.when(iso >= validation.EARLIEST_DATE).then(iso)).to_series()
        other = df["issue_date"].is_not_null() & iso.is_null()
        if other.any():
            date_problems = validation.Problems({"issue_date": headers["issue_date"]})
            ctx = validation.Context(tax_id="", today=today)
            checked = validation.check_dates(
                df.filter(other).select(ROW, "issue_date"), ctx, date_problems
            )
            iso = iso.scatter(other.arg_true(), checked["issue_date_v"])
            invalid = date_problems.frame().filter(pl.col("code") == "date_invalid")
            if invalid.height:
                problems.append(invalid.select("row", "column", "code", "message"))
        df = df.with_columns(issue_date=iso)
    else:
        df = df.with_columns(pl.lit(None, dtype=pl.Date).alias("issue_date"))

    for key in ("amount", "tax", "total"):
        if key not in present:
            df = df.with_columns(pl.lit(None, dtype=pl.Int64).alias(key))
            continue
        money = validation.money_cents(df[key])
        raw = pl.col(key)
        add(money["bad"], key, "amount_invalid", pl.format("无法识别的金额“{}”", raw))
        add(money["precision"], key, "amount_precision", pl.format("金额“{}”超过两位小数", raw))
        add(money["too_large"], key, "amount_too_large", pl.format("金额“{}”过大", raw))
        df = df.with_columns(money["cents"].alias(key))

    for key in ("counterparty_tax_id", "seller_tax_id", "buyer_tax_id"):
        df = df.with_columns(
            validation.normalize_codes(df[key].fill_null("")).alias(key)
        ).with_columns(pl.when(pl.col(key) != "").then(pl.col(key)).alias(key))
    if "type_code" in present:
        types = {v: validation.type_code_of(v) or "" for v in df["type_code"].drop_nulls().unique()}
        df = df.with_columns(pl.col("type_code").replace_strict(types, default=""))
    else:
        df = df.with_columns(pl.lit("").alias("type_code"))

    rows = df.height
    if df["_skip"].any():
        df = df.filter(~pl.col("_skip"))
    # one chunk per column: the comparison's joins would each copy a chunked one
    df = df.drop("_skip", "digital_number").rename({ROW: "row"}).rechunk()
    found = (
        pl.concat(problems).sort("row", "column")
        if problems
        else pl.DataFrame(
            schema={"row": pl.Int64, "column": pl.String, "code": pl.String, "message": pl.String}
        )
    )
    kept = [Problem(r, c, m, k) for r, c, k, m in found.head(MAX_PROBLEMS).iter_rows()]
    return Ledger(
        frame=df,
        rows=rows,
        problems=kept,
        problem_count=found.height,
        headers={k: v for k, v in headers.items() if k in present},
        file_format=table.file_format,
        encoding=table.encoding,
        header_row=table.header_row,
    )
