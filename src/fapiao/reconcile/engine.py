"""The comparison of a ledger with the platform's invoices (对账), in polars.

Inputs are two frames: the ledger's rows (`fapiao.reconcile.ledger`) and the organization's
invoices in the period and side (`fapiao.reconcile.selectors.platform_invoices`), money in integer
cents. The steps, each on what the previous ones left unmatched:

1. identity (code + number; 数电 numbers have no code): one hash join of the whole ledger with the
   whole platform set; a matched pair whose date, amounts, counterparty or side differ is a field
   mismatch, naming each field with both values;
2. a legacy number given without its code: matched when one invoice has that number, reported
   (not forced) when several do;
3. a cell naming several invoices ("00001234/00001235"): one ledger row against several invoices;
4. rows repeating one identity: one invoice booked as several rows that add up to its total (or
   amount); red-letter (红冲): a blue invoice booked net of its red one, or the red one booked
   under the blue's number; a negative (reversal) row with no red invoice behind it; rows
   booked twice;
5. invoices of the organization outside the period or side (looked up by the caller, for the few
   rows still unmatched): a mismatch of the date or side;
6. probable typos: an unmatched ledger row and an unmatched invoice whose identities differ by one
   of the near-match patterns of `fapiao.rules.nearmatch` (candidates found by joins on deletion
   variants, each pair confirmed by `nearmatch.classify_identity`); the amount or the date must
   agree as well where the ledger has them, and each row and invoice is paired once.

What is left is missing on the platform (ledger rows in scope) or missing from the ledger (invoices,
voided ones excepted: a voided invoice is not booked).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from fapiao.rules import nearmatch

MATCHED = "matched"
MISSING_ON_PLATFORM = "missing_on_platform"
MISSING_IN_LEDGER = "missing_in_ledger"
MISMATCHED = "mismatched"
PROBABLE_TYPO = "probable_typo"
PARTIAL = "partial"
CATEGORIES = (MATCHED, MISSING_ON_PLATFORM, MISSING_IN_LEDGER, MISMATCHED, PROBABLE_TYPO, PARTIAL)

# Partial kinds
SPLIT = "one_row_many_invoices"  # one ledger row names several invoices
AMBIGUOUS = "ambiguous_number"  # a number without its code that several invoices have
NET_OF_RED = "net_of_red"  # a blue invoice booked net of its red one(s)
RED_UNDER_BLUE = "red_under_blue"  # the red invoice booked under the blue one's number
DUPLICATE = "duplicate_row"  # the same invoice booked more than once
MANY_ROWS = "many_rows_one_invoice"  # one invoice booked as several rows that add up to it
REVERSAL = "reversal_row"  # a negative row under an invoice's number, no red invoice behind it

# Fields compared, in the order they are reported.
COMPARED = (
    "issue_date",
    "amount",
    "tax",
    "total",
    "counterparty_tax_id",
    "counterparty_name",
    "side",
    "status",
)
MONEY_FIELDS = ("amount", "tax", "total")
VOIDED = 2  # InvoiceStatus.VOIDED
RED_STATUSES = (3, 7, 8)  # 已红冲, 部分红冲, 全额红冲
MULTI = r"[,;/、，；]+"  # a cell naming several invoices: 00001234/00001235
STRONG_PATTERNS = (nearmatch.LOOKALIKE, nearmatch.CODE_PLUS_NUMBER, nearmatch.CODE_NUMBER_SWAPPED)

LEDGER_COLUMNS = {
    "row": pl.Int64,
    "code": pl.String,
    "number": pl.String,
    "issue_date": pl.Date,
    "amount": pl.Int64,
    "tax": pl.Int64,
    "total": pl.Int64,
    "counterparty_name": pl.String,
    "counterparty_tax_id": pl.String,
    "seller_name": pl.String,
    "seller_tax_id": pl.String,
    "buyer_name": pl.String,
    "buyer_tax_id": pl.String,
    "type_code": pl.String,
    "remarks": pl.String,
}
PLATFORM_COLUMNS = {
    "id": pl.Int64,
    "code": pl.String,
    "number": pl.String,
    "issue_date": pl.Date,
    "amount": pl.Int64,
    "tax": pl.Int64,
    "total": pl.Int64,
    "counterparty_name": pl.String,
    "counterparty_tax_id": pl.String,
    "side": pl.String,  # "seller" or "buyer": the organization's side of the invoice
    "status": pl.Int64,
    "is_red": pl.Boolean,
    "original_id": pl.Int64,
}
# Every category's rows share this schema (the stored result file's).
RESULT_SCHEMA = {
    "category": pl.String,
    "kind": pl.String,  # the partial kind, or the typo's pattern
    "row": pl.Int64,  # the ledger row, as Excel numbers it
    "rows": pl.String,  # all ledger rows of a partial item, "3,9"
    "ledger_code": pl.String,
    "ledger_number": pl.String,
    "invoice_id": pl.Int64,
    "code": pl.String,
    "number": pl.String,
    "invoice_ids": pl.String,  # all invoices of a partial item
    "numbers": pl.String,
    "l_issue_date": pl.Date,
    "l_amount": pl.Int64,
    "l_tax": pl.Int64,
    "l_total": pl.Int64,
    "l_counterparty_name": pl.String,
    "l_counterparty_tax_id": pl.String,
    "l_side": pl.String,
    "p_issue_date": pl.Date,
    "p_amount": pl.Int64,
    "p_tax": pl.Int64,
    "p_total": pl.Int64,
    "p_counterparty_name": pl.String,
    "p_counterparty_tax_id": pl.String,
    "p_side": pl.String,
    "p_status": pl.Int64,
    "fields": pl.String,  # the fields that differ, "total,issue_date"
    "message": pl.String,
    # the ledger's own columns, kept for 补录 of what is missing on the platform
    "l_type_code": pl.String,
    "l_seller_name": pl.String,
    "l_seller_tax_id": pl.String,
    "l_buyer_name": pl.String,
    "l_buyer_tax_id": pl.String,
    "l_remarks": pl.String,
}
_LEDGER_KEEP = (
    "type_code",
    "seller_name",
    "seller_tax_id",
    "buyer_name",
    "buyer_tax_id",
    "remarks",
)


@dataclass(frozen=True)
class Scope:
    tax_id: str  # the organization's
    side: str = "both"  # "seller", "buyer" or "both"
    date_from: dt.date | None = None
    date_to: dt.date | None = None


# (code, number) identities → the organization's invoices with them, outside the scope
OutsideLookup = Callable[[list[tuple[str, str]]], pl.DataFrame]


@dataclass
class Result:
    frames: dict[str, pl.DataFrame]  # category → rows of RESULT_SCHEMA
    out_of_scope: int = 0  # ledger rows outside the period or side, not matched
    ledger_rows: int = 0
    invoices: int = 0
    summary: dict[str, dict] = field(default_factory=dict)

    def frame(self) -> pl.DataFrame:
        """All categories in one frame, in category order."""
        return pl.concat([self.frames[c] for c in CATEGORIES], how="vertical")


def empty_platform() -> pl.DataFrame:
    return pl.DataFrame(schema=PLATFORM_COLUMNS)


def _key(code: pl.Expr, number: pl.Expr) -> pl.Expr:
    """The identity as a 64-bit hash: joins and duplicate checks on it are several times faster
    than on text. The few places where two identities could share a hash check the text too."""
    return number.hash(20250101) ^ code.hash(20250102)


def _marked(length: int, positions: pl.Series) -> pl.Series:
    """A boolean mask of `length`, true at `positions`."""
    return pl.repeat(False, length, eager=True).scatter(positions, True)


def _same_identity() -> pl.Expr:
    return (pl.col("code") == pl.col("p_code")) & (pl.col("number") == pl.col("p_number"))


def _with_prefix(frame: pl.DataFrame, prefix: str, keep: tuple[str, ...] = ()) -> pl.DataFrame:
    return frame.rename({c: f"{prefix}{c}" for c in frame.columns if c not in keep})


def compare(
    ledger: pl.DataFrame,
    platform: pl.DataFrame,
    *,
    scope: Scope,
    reds: pl.DataFrame | None = None,
    outside: OutsideLookup | None = None,
) -> Result:
    """Compare the ledger with the platform's invoices; see the module's docstring."""
    lf = _prepare_ledger(ledger, scope)
    kept = lf.select("row", *_LEDGER_KEEP)  # for 补录 of the rows missing on the platform
    lf = lf.drop(*_LEDGER_KEEP)
    pf = _with_prefix(platform, "p_").with_columns(key=_key(pl.col("p_code"), pl.col("p_number")))
    reds = _with_prefix(reds if reds is not None else empty_platform(), "p_")
    out: dict[str, list[pl.DataFrame]] = {c: [] for c in CATEGORIES}
    consumed: list[pl.Series] = []  # invoice ids accounted for by a partial item

    # Cells naming several invoices are set aside (step 3); repeated identities too (step 4).
    multi = lf.filter(pl.col("multi"))
    single = lf.filter(~pl.col("multi")) if multi.height else lf
    keys = single["key"]
    if keys.n_unique() < single.height:  # (counting is cheaper than marking duplicates)
        ordered = keys.sort()
        twice = ordered.filter(ordered == ordered.shift(1)).unique()
        repeated_mask = keys.is_in(twice.implode())
        primary, extras = _split_repeated(single.filter(repeated_mask))
        single = pl.concat([single.filter(~repeated_mask), primary], how="vertical_relaxed")
    else:
        extras = single.clear()

    # 1. identity: one join; what it leaves unmatched on each side, by position
    single = single.with_row_index("_li")
    pf = pf.with_row_index("_pi")
    pairs = single.join(pf, on="key", how="inner")
    l_only = single.filter(~_marked(single.height, pairs["_li"])).drop("_li")
    p_only = pf.filter(~_marked(pf.height, pairs["_pi"])).drop("_pi")
    pairs = pairs.drop("_li", "_pi")
    single, pf = single.drop("_li"), pf.drop("_pi")
    collided = ~pairs.select(_same_identity()).to_series()
    if collided.any():  # two identities with one hash: neither is matched by the other
        clash = pairs.filter(collided)
        pairs = pairs.filter(~collided)
        l_only = pl.concat([l_only, clash.select(lf.columns)])
        p_only = pl.concat([p_only, clash.select(pf.columns)])

    # 2. a legacy number without its code
    pairs2, ambiguous, l_only, p_only = _codeless(l_only, p_only)
    if pairs2.height:
        pairs = pl.concat([pairs, pairs2.select(pairs.columns)], how="vertical_relaxed")
    out[PARTIAL].append(ambiguous)
    if ambiguous.height:
        consumed.append(ambiguous["_ids"].explode())
        ambiguous.drop_in_place("_ids")

    # 3. one row, several invoices
    split_items, p_only = _split_cells(multi, p_only, scope)
    out[PARTIAL].append(split_items)
    l_only = pl.concat([l_only, multi.join(split_items.select("row"), on="row", how="anti")])

    # field comparison of the matched pairs
    clean, differing = _compare_fields(pairs)
    del pairs

    # 4. one invoice booked as several rows that add up to it: partial, not a mismatch
    many, differing, extras = _many_rows(differing, extras)
    out[PARTIAL].append(many)

    # 4. red-letter, and rows booked twice
    reds = pl.concat([reds, pf.filter(pl.col("p_is_red")).drop("key")], how="diagonal_relaxed")
    reds = reds.unique("p_id", keep="first")
    net, differing, red_ids = _net_of_red(differing, reds)
    out[PARTIAL].append(net)
    consumed.append(red_ids)
    negative = extras.filter((pl.coalesce("total", "amount") < 0).fill_null(False))
    if negative.height:
        blues = pl.concat(
            [clean.select("key", "p_id"), differing.select("key", "p_id"),
             net.select("key", pl.col("_blue").alias("p_id"))], how="vertical_relaxed",
        ).join(negative.select("key").unique(), on="key", how="semi")  # fmt: skip
        red_items, red_ids = _red_under_blue(negative, blues, reds, consumed)
        out[PARTIAL].append(red_items)
        consumed.append(red_ids)
        extras = extras.join(red_items.select("row"), on="row", how="anti")
    net.drop_in_place("key")
    net.drop_in_place("_blue")
    out[PARTIAL].append(_duplicates(extras, single, pf))

    # 5. outside the period or side
    in_scope = l_only.filter(pl.col("in_scope"))
    out_of_scope = l_only.height - in_scope.height
    if outside is not None and in_scope.height:
        found = outside(list(in_scope.select("code", "number").unique().iter_rows()))
        if found.height:
            found = _with_prefix(found, "p_").with_columns(
                key=_key(pl.col("p_code"), pl.col("p_number"))
            )
            elsewhere = in_scope.join(found, on="key", how="inner").filter(_same_identity())
            in_scope = in_scope.join(elsewhere.select("row"), on="row", how="anti")
            if elsewhere.height:
                more_clean, more_differing = _compare_fields(elsewhere)
                differing = pl.concat([differing, more_differing], how="diagonal_relaxed")
                clean = pl.concat([clean, more_clean], how="diagonal_relaxed")

    # 6. probable typos
    consumed_ids = pl.concat(consumed).unique() if consumed else pl.Series([], dtype=pl.Int64)
    p_only = p_only.filter(~pl.col("p_id").is_in(consumed_ids.implode()))
    typos, in_scope, p_only = _typos(in_scope, p_only)

    out[MATCHED].append(_result(clean, MATCHED))
    out[MISMATCHED].append(_result(differing, MISMATCHED))
    out[PROBABLE_TYPO].append(typos)
    missing = in_scope.join(kept, on="row", how="left")
    out[MISSING_ON_PLATFORM].append(_result(missing, MISSING_ON_PLATFORM, keep_ledger=True))
    out[MISSING_IN_LEDGER].append(
        _result(p_only.filter(pl.col("p_status") != VOIDED), MISSING_IN_LEDGER)
    )
    frames = {c: _finish(parts) for c, parts in out.items()}
    result = Result(
        frames=frames,
        out_of_scope=out_of_scope,
        ledger_rows=ledger.height,
        invoices=platform.height,
    )
    result.summary = summarize(frames)
    return result


# --- preparation -------------------------------------------------------------------------------


def _prepare_ledger(ledger: pl.DataFrame, scope: Scope) -> pl.DataFrame:
    for name, dtype in LEDGER_COLUMNS.items():
        if name not in ledger.columns:
            ledger = ledger.with_columns(pl.lit(None, dtype=dtype).alias(name))
    org = scope.tax_id
    has_parties = any(
        ledger[c].null_count() < ledger.height for c in ("seller_tax_id", "buyer_tax_id")
    )
    if has_parties:
        tax_side = (
            pl.when(pl.col("seller_tax_id") == org)
            .then(pl.lit("seller"))
            .when(pl.col("buyer_tax_id") == org)
            .then(pl.lit("buyer"))
        )
    else:
        tax_side = pl.lit(None, dtype=pl.String)
    side = tax_side if scope.side == "both" else pl.coalesce(tax_side, pl.lit(scope.side))
    in_scope = pl.lit(True)
    if scope.date_from is not None:
        in_scope = in_scope & ~(pl.col("issue_date") < scope.date_from).fill_null(False)
    if scope.date_to is not None:
        in_scope = in_scope & ~(pl.col("issue_date") > scope.date_to).fill_null(False)
    if scope.side != "both" and has_parties:
        in_scope = in_scope & (tax_side.is_null() | (tax_side == scope.side))
    frame = ledger.with_columns(
        key=_key(pl.col("code"), pl.col("number")),
        side=side,
        in_scope=in_scope,
        multi=pl.col("number").str.contains_any(list(",;/、，；")),
    )
    if has_parties:
        frame = frame.with_columns(
            counterparty_name=pl.coalesce(
                "counterparty_name",
                pl.when(pl.col("side") == "seller")
                .then(pl.col("buyer_name"))
                .when(pl.col("side") == "buyer")
                .then(pl.col("seller_name")),
            ),
            counterparty_tax_id=pl.coalesce(
                "counterparty_tax_id",
                pl.when(pl.col("side") == "seller")
                .then(pl.col("buyer_tax_id"))
                .when(pl.col("side") == "buyer")
                .then(pl.col("seller_tax_id")),
            ),
        )
    return frame


def _split_repeated(repeated: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rows of one identity: the first non-negative one takes part in matching, the others are
    extras (a red invoice booked under the blue's number, or a row booked twice)."""
    ordered = repeated.with_columns(
        _neg=(pl.coalesce("total", "amount") < 0).fill_null(False),
        _text=pl.concat_str(["code", "number"], separator="|"),
    ).sort("_text", "_neg", "row")
    first = pl.col("row") == pl.col("row").first().over("_text")
    primary = ordered.filter(first).drop("_neg", "_text").sort("row")
    extras = ordered.filter(~first).drop("_neg", "_text").sort("row")
    return primary, extras


# --- the steps ---------------------------------------------------------------------------------


def _codeless(
    l_only: pl.DataFrame, p_only: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Legacy numbers given without their code: one invoice with the number → a pair; several →
    a partial item (reported, not forced)."""
    empty_partial = _result(pl.DataFrame(), PARTIAL).with_columns(
        _ids=pl.lit(None, pl.List(pl.Int64))
    )
    codeless = l_only.filter(
        (pl.col("code") == "") & (pl.col("number").str.len_chars() != 20) & ~pl.col("multi")
    )
    if not codeless.height or not p_only.height:
        return pl.DataFrame(), empty_partial, l_only, p_only
    legacy = p_only.filter(pl.col("p_code") != "")
    found = codeless.join(
        legacy, left_on="number", right_on="p_number", how="inner", coalesce=False
    )
    if not found.height:
        return pl.DataFrame(), empty_partial, l_only, p_only
    found = found.with_columns(_n=pl.len().over("row"))
    pairs = found.filter(pl.col("_n") == 1).drop("_n")
    several = found.filter(pl.col("_n") > 1)
    groups = several.group_by("row", maintain_order=True).agg(
        pl.col("code").first(), pl.col("number").first(), pl.col("issue_date").first(),
        pl.col("amount").first(), pl.col("tax").first(), pl.col("total").first(),
        pl.col("counterparty_name").first(), pl.col("counterparty_tax_id").first(),
        pl.col("side").first(), _ids=pl.col("p_id"), _codes=pl.col("p_code"),
    )  # fmt: skip
    ambiguous = groups.select(
        pl.lit(PARTIAL).alias("category"),
        pl.lit(AMBIGUOUS).alias("kind"),
        "row",
        pl.col("row").cast(pl.String).alias("rows"),
        pl.col("code").alias("ledger_code"),
        pl.col("number").alias("ledger_number"),
        pl.col("_ids").list.eval(pl.element().cast(pl.String)).list.join(",").alias("invoice_ids"),
        pl.col("number").alias("numbers"),
        pl.col("issue_date").alias("l_issue_date"),
        pl.col("amount").alias("l_amount"),
        pl.col("tax").alias("l_tax"),
        pl.col("total").alias("l_total"),
        pl.format(
            "没有发票代码，有 {} 张发票的号码都是 {}（代码分别为 {}）：请补上发票代码",
            pl.col("_ids").list.len(), pl.col("number"), pl.col("_codes").list.join("、"),
        ).alias("message"),
        "_ids",
    )  # fmt: skip
    pairs = pairs.drop("key").rename({"key_right": "key"})
    taken_rows = found.select("row").unique()
    taken_ids = found.select(pl.col("p_id")).unique()
    l_only = l_only.join(taken_rows, on="row", how="anti")
    p_only = p_only.join(taken_ids, on="p_id", how="anti")
    ambiguous = _result(ambiguous, PARTIAL, kind=None).with_columns(_ids=groups["_ids"])
    return pairs, ambiguous, l_only, p_only


def _split_cells(
    multi: pl.DataFrame, p_only: pl.DataFrame, scope: Scope
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A ledger row whose number cell names several invoices, matched number by number."""
    if not multi.height or not p_only.height:
        return _result(pl.DataFrame(), PARTIAL), p_only
    parts = (
        multi.select(
            "row", "code", pl.col("number").str.replace_all(MULTI, ",").str.split(",").alias("part")
        )
        .explode("part")
        .filter(pl.col("part") != "")
        .with_columns(key=_key(pl.col("code"), pl.col("part")))
    )
    found = parts.join(p_only, on="key", how="inner").filter(
        (pl.col("part") == pl.col("p_number")) & (pl.col("code") == pl.col("p_code"))
    )
    if not found.height:
        return _result(pl.DataFrame(), PARTIAL), p_only
    groups = found.group_by("row", maintain_order=True).agg(
        _ids=pl.col("p_id"),
        _numbers=pl.col("p_number"),
        _total=pl.col("p_total").sum(),
        _amount=pl.col("p_amount").sum(),
        _tax=pl.col("p_tax").sum(),
    )
    items = (
        multi.join(groups, on="row", how="inner")
        .join(parts.group_by("row").agg(_parts=pl.len()), on="row", how="left")
        .sort("row")
    )
    agree = pl.coalesce(
        pl.col("total") == pl.col("_total"), pl.col("amount") == pl.col("_amount"), pl.lit(True)
    )
    frame = items.select(
        pl.lit(PARTIAL).alias("category"),
        pl.lit(SPLIT).alias("kind"),
        "row",
        pl.col("row").cast(pl.String).alias("rows"),
        pl.col("code").alias("ledger_code"),
        pl.col("number").alias("ledger_number"),
        pl.col("_ids").list.eval(pl.element().cast(pl.String)).list.join(",").alias("invoice_ids"),
        pl.col("_numbers").list.join(",").alias("numbers"),
        pl.col("issue_date").alias("l_issue_date"),
        pl.col("amount").alias("l_amount"),
        pl.col("tax").alias("l_tax"),
        pl.col("total").alias("l_total"),
        pl.col("counterparty_name").alias("l_counterparty_name"),
        pl.col("counterparty_tax_id").alias("l_counterparty_tax_id"),
        pl.col("_amount").alias("p_amount"),
        pl.col("_tax").alias("p_tax"),
        pl.col("_total").alias("p_total"),
        pl.when(agree).then(pl.lit("")).otherwise(pl.lit("total")).alias("fields"),
        pl.format(
            "一行记了 {} 张发票（平台上找到 {} 张）{}",
            pl.col("_parts"),
            pl.col("_ids").list.len(),
            pl.when(agree).then(pl.lit("，合计一致")).otherwise(pl.lit("，合计与账簿不一致")),
        ).alias("message"),
    )
    taken = found.select("p_id").unique()
    return _result(frame, PARTIAL, kind=None), p_only.join(taken, on="p_id", how="anti")


def _compare_fields(pairs: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(pairs that agree, pairs that differ with a `fields` column naming what differs)."""
    if not pairs.height:
        return pairs, pairs.with_columns(fields=pl.lit("", dtype=pl.String))

    def differs(name: str) -> pl.Expr:
        return (pl.col(name).is_not_null() & (pl.col(name) != pl.col(f"p_{name}"))).fill_null(False)

    raw = {name: differs(name) for name in COMPARED if name != "status"}
    raw["status"] = pl.col("p_status") == VOIDED
    any_raw = pl.any_horizontal(list(raw.values()))
    mask = pairs.select(any_raw).to_series()
    if not mask.any():
        return pairs, pairs.clear().with_columns(fields=pl.lit("", dtype=pl.String))
    suspects = pairs.filter(mask)
    # Names differ in spaces and full-width brackets as typed: compare them normalised.
    refined = {**raw, "counterparty_name": raw["counterparty_name"] & (
        _name_form(pl.col("counterparty_name")) != _name_form(pl.col("p_counterparty_name"))
    ).fill_null(True)}  # fmt: skip
    suspects = suspects.with_columns(
        fields=pl.concat_list([pl.when(expr).then(pl.lit(name)) for name, expr in refined.items()])
        .list.drop_nulls()
        .list.join(",")
    )
    differing = suspects.filter(pl.col("fields") != "")
    fine = suspects.filter(pl.col("fields") == "").drop("fields")
    clean = pairs.filter(~mask)
    if fine.height:
        clean = pl.concat([clean, fine], how="vertical_relaxed")
    return clean, differing


def _name_form(expr: pl.Expr) -> pl.Expr:
    return expr.str.normalize("NFKC").str.replace_all(r"\s+", "").str.to_uppercase()


def _net_of_red(differing: pl.DataFrame, invoices: pl.DataFrame):
    """A blue invoice booked at its value net of its red invoice(s): partial, not a mismatch."""
    empty = _result(pl.DataFrame(), PARTIAL).with_columns(
        key=pl.lit(None, pl.UInt64), _blue=pl.lit(None, pl.Int64)
    )
    no_ids = pl.Series("p_id", [], dtype=pl.Int64)
    if not differing.height:
        return empty, differing, no_ids
    candidates = differing.filter(pl.col("p_status").is_in(RED_STATUSES))
    if not candidates.height:
        return empty, differing, no_ids
    red = invoices.filter(pl.col("p_is_red") & pl.col("p_original_id").is_not_null()).unique("p_id")
    per_blue = red.group_by("p_original_id").agg(
        _red_ids=pl.col("p_id"),
        _red_numbers=pl.col("p_number"),
        _red_total=pl.col("p_total").sum(),
        _red_amount=pl.col("p_amount").sum(),
    )
    hit = candidates.join(per_blue, left_on="p_id", right_on="p_original_id", how="inner")
    net_total = pl.col("p_total") + pl.col("_red_total")
    net_amount = pl.col("p_amount") + pl.col("_red_amount")
    hit = hit.filter(
        pl.coalesce(pl.col("total") == net_total, pl.col("amount") == net_amount).fill_null(False)
    )
    if not hit.height:
        return empty, differing, no_ids
    frame = hit.with_columns(
        rows=pl.col("row").cast(pl.String),
        invoice_ids=pl.concat_str(
            [pl.col("p_id").cast(pl.String),
             pl.col("_red_ids").list.eval(pl.element().cast(pl.String)).list.join(",")],
            separator=",",
        ),
        numbers=pl.concat_str([pl.col("p_number"), pl.col("_red_numbers").list.join(",")],
                              separator=","),
        _blue=pl.col("p_id"),
    )  # fmt: skip
    frame = frame.with_columns(
        message=pl.format(
            "账簿按冲红后的净额记账：蓝字发票 {} 减去红字发票 {}",
            pl.col("p_number"),
            pl.col("_red_numbers").list.join("、"),
        )
    )
    items = _result(frame, PARTIAL, kind=NET_OF_RED).with_columns(
        key=frame["key"], _blue=frame["_blue"]
    )
    rest = differing.join(hit.select("row"), on="row", how="anti")
    return items, rest, hit["_red_ids"].explode().alias("p_id")


def _red_under_blue(extras: pl.DataFrame, matched: pl.DataFrame, reds: pl.DataFrame, consumed):
    """An extra (repeated) row with negative amounts under a blue invoice's number, equal to one
    of that blue invoice's red invoices: the red invoice booked under the blue one's number."""
    no_ids = pl.Series("p_id", [], dtype=pl.Int64)
    negative = extras.filter((pl.coalesce("total", "amount") < 0).fill_null(False))
    if not negative.height or not reds.height:
        return _result(pl.DataFrame(), PARTIAL), no_ids
    used = pl.concat(consumed).unique() if consumed else no_ids
    free = reds.filter(pl.col("p_is_red") & ~pl.col("p_id").is_in(used.implode()))
    hit = (
        negative.join(matched, on="key", how="inner")
        .rename({"p_id": "_blue"})
        .join(free, left_on="_blue", right_on="p_original_id", how="inner")
        .filter(
            pl.coalesce(
                pl.col("total") == pl.col("p_total"), pl.col("amount") == pl.col("p_amount")
            ).fill_null(False)
        )
        .unique("row", keep="first", maintain_order=True)
        .unique("p_id", keep="first", maintain_order=True)
    )
    if not hit.height:
        return _result(pl.DataFrame(), PARTIAL), no_ids
    frame = hit.with_columns(
        rows=pl.col("row").cast(pl.String),
        invoice_ids=pl.col("p_id").cast(pl.String),
        numbers=pl.col("p_number"),
        message=pl.format(
            "红字发票 {} 记在了蓝字发票 {} 的号码下", pl.col("p_number"), pl.col("number")
        ),
    )
    return _result(frame, PARTIAL, kind=RED_UNDER_BLUE), hit["p_id"]


def _many_rows(differing: pl.DataFrame, extras: pl.DataFrame):
    """A matched pair whose invoice the ledger books as several rows (the pair's and the extras
    of its identity) adding up to the invoice's total, or its amount: one partial item naming
    all the rows, instead of a mismatch and duplicates. Returns (items, differing left, extras
    left)."""
    empty = _result(pl.DataFrame(), PARTIAL)
    if not extras.height or not differing.height:
        return empty, differing, extras
    identity = ["key", "code", "number"]
    pairs = differing.join(extras.select(identity).unique(), on=identity, how="semi")
    if not pairs.height:
        return empty, differing, extras
    money = ["row", *identity, "amount", "tax", "total"]
    group = pl.concat(
        [pairs.select(money), extras.join(pairs.select(identity), on=identity, how="semi")
         .select(money)], how="vertical_relaxed",
    ).sort("row")  # fmt: skip
    sums = group.group_by(identity).agg(
        _rows=pl.col("row"),
        _n=pl.len(),
        _total=pl.col("total").sum(),
        _n_total=pl.col("total").count(),
        _amount=pl.col("amount").sum(),
        _n_amount=pl.col("amount").count(),
        _tax=pl.col("tax").sum(),
        _n_tax=pl.col("tax").count(),
    )
    adds_up = pl.coalesce(
        pl.when(pl.col("_n_total") == pl.col("_n")).then(pl.col("_total") == pl.col("p_total")),
        pl.when(pl.col("_n_amount") == pl.col("_n")).then(pl.col("_amount") == pl.col("p_amount")),
    ).fill_null(False)
    hit = pairs.join(sums, on=identity, how="inner").filter(adds_up)
    if not hit.height:
        return empty, differing, extras
    rows_text = pl.col("_rows").list.eval(pl.element().cast(pl.String))
    frame = hit.with_columns(
        rows=rows_text.list.join(","),
        invoice_ids=pl.col("p_id").cast(pl.String),
        numbers=pl.col("p_number"),
        total=pl.when(pl.col("_n_total") == pl.col("_n")).then("_total"),
        amount=pl.when(pl.col("_n_amount") == pl.col("_n")).then("_amount"),
        tax=pl.when(pl.col("_n_tax") == pl.col("_n")).then("_tax"),
        # the other fields as the first row has them; the money is the rows' sum
        fields=pl.col("fields").str.split(",")
        .list.eval(pl.element().filter(~pl.element().is_in(MONEY_FIELDS)))
        .list.join(","),
        message=pl.format(
            "第 {} 行合计与发票 {} 的金额一致：一张发票分 {} 行记账",
            rows_text.list.join("、"), pl.col("p_number"), pl.col("_n"),
        ),
    )  # fmt: skip
    taken = group.join(hit.select(identity), on=identity, how="semi").select("row")
    return (
        _result(frame, PARTIAL, kind=MANY_ROWS),
        differing.join(hit.select("row"), on="row", how="anti"),
        extras.join(taken, on="row", how="anti"),
    )


def _duplicates(extras: pl.DataFrame, single: pl.DataFrame, pf: pl.DataFrame) -> pl.DataFrame:
    """Rows booked again under an identity that an earlier row already has: a negative one
    (no red invoice behind it, else it was taken before) is a reversal, the others duplicates.
    Each names the invoice: the platform's where it has one, else the ledger's number."""
    if not extras.height:
        return _result(pl.DataFrame(), PARTIAL)
    first = single.join(extras.select("key").unique(), on="key", how="semi").select(
        "key", "code", "number", pl.col("row").alias("_first")
    )
    invoices = (
        pf.join(extras.select("key").unique(), on="key", how="semi")
        .select("key", pl.col("p_code").alias("code"), pl.col("p_number").alias("number"),
                "p_id", "p_number")
        .unique(["key", "code", "number"], keep="first")
    )  # fmt: skip
    frame = (
        extras.join(first, on=["key", "code", "number"], how="left")
        .join(invoices, on=["key", "code", "number"], how="left")
        .with_columns(
            rows=pl.concat_str([pl.col("_first").cast(pl.String), pl.col("row").cast(pl.String)],
                               separator=",", ignore_nulls=True),
            numbers=pl.coalesce("p_number", "number"),
            _negative=(pl.coalesce("total", "amount") < 0).fill_null(False),
        )
        .drop("p_number")
    )  # fmt: skip
    reversals = frame.filter(pl.col("_negative")).with_columns(
        message=pl.format(
            "第 {} 行是负数（冲销）行，冲的是第 {} 行的发票 {}，平台上没有与之对应的红字发票",
            pl.col("row"), pl.col("_first"), pl.col("numbers"),
        )
    )  # fmt: skip
    twice = frame.filter(~pl.col("_negative")).with_columns(
        message=pl.format(
            "与第 {} 行是同一张发票 {}，重复记账", pl.col("_first"), pl.col("numbers")
        )
    )
    return pl.concat(
        [_result(twice, PARTIAL, kind=DUPLICATE), _result(reversals, PARTIAL, kind=REVERSAL)]
    ).sort("row")


# --- typos -------------------------------------------------------------------------------------


SEED = 20251201


def _deletions(frame: pl.DataFrame, id_col: str) -> pl.DataFrame:
    """Every identity with one character deleted, hashed, with the position: (id, i, n, del)."""
    if not frame.height:
        return pl.DataFrame(
            schema={id_col: pl.Int64, "i": pl.Int32, "n": pl.UInt32, "del": pl.UInt64}
        )
    base = frame.select(
        id_col, pl.col("ident").alias("s"), pl.col("ident").str.len_chars().alias("n")
    )
    longest = int(base["n"].max() or 0)
    parts = [
        base.filter(pl.col("n") > i).select(
            id_col,
            pl.lit(i, dtype=pl.Int32).alias("i"),
            "n",
            (pl.col("s").str.slice(0, i) + pl.col("s").str.slice(i + 1)).hash(SEED).alias("del"),
        )
        for i in range(longest)
    ]
    return pl.concat(parts)


def _typos(l_only: pl.DataFrame, p_only: pl.DataFrame):
    """Pairs of an unmatched ledger row and an unmatched invoice differing by one near-match
    pattern; returns (typo items, ledger rows left, invoices left).

    Candidates come from joins on hashed deletion variants (one character substituted, missing,
    extra, two neighbours swapped) and on the identity's digits split otherwise (code + number,
    code and number swapped, lookalike letters); the amount or the date must agree too; each row
    and invoice is paired once, and every pair kept is confirmed and named by
    `nearmatch.classify_identity`."""
    nothing = _result(pl.DataFrame(), PROBABLE_TYPO), l_only, p_only
    ul = l_only.filter(~pl.col("multi"))
    up = p_only.filter(pl.col("p_status") != VOIDED)
    if not ul.height or not up.height:
        return nothing
    ident = pl.col("code") + pl.col("number")
    ul = ul.select(
        "row",
        "code",
        ident.alias("ident"),
        ident.hash(SEED).alias("h"),
        (pl.col("number") + pl.col("code")).hash(SEED).alias("swapped"),
        ident.str.replace_many(nearmatch.LOOKALIKES).hash(SEED).alias("looks"),
    )
    up = up.select(
        "p_id",
        (pl.col("p_code") + pl.col("p_number")).alias("ident"),
        (pl.col("p_code") + pl.col("p_number")).hash(SEED).alias("h"),
    )
    dl, dp = _deletions(ul, "row"), _deletions(up, "p_id")
    weak, strong = pl.lit(False), pl.lit(True)
    pairs = [
        # one character substituted: same length, same deletion
        dl.join(dp, on=["i", "n", "del"]).select("row", "p_id", _strong=weak),
        # two neighbours swapped: deleting i from one and i+1 from the other agrees
        dl.join(dp.with_columns(pl.col("i") - 1), on=["i", "n", "del"])
        .select("row", "p_id", _strong=weak),
        # a character missing from the ledger's identity, or one too many
        ul.join(dp, left_on="h", right_on="del").select("row", "p_id", _strong=weak),
        dl.join(up, left_on="del", right_on="h").select("row", "p_id", _strong=weak),
        # the same digits split otherwise (a 20-digit number entered as code + number)
        ul.join(up, on="h").select("row", "p_id", _strong=strong),
        # code and number swapped
        ul.filter(pl.col("code") != "").join(up, left_on="swapped", right_on="h")
        .select("row", "p_id", _strong=strong),
        # lookalike letters
        ul.filter(pl.col("looks") != pl.col("h")).join(up, left_on="looks", right_on="h")
        .select("row", "p_id", _strong=strong),
    ]  # fmt: skip
    found = pl.concat(pairs).group_by("row", "p_id").agg(pl.col("_strong").any())
    if not found.height:
        return nothing
    found = found.join(l_only, on="row").join(p_only, on="p_id")
    amount_agree = pl.any_horizontal(
        [(pl.col(m) == pl.col(f"p_{m}")).fill_null(False) for m in MONEY_FIELDS]
    )
    date_agree = (pl.col("issue_date") == pl.col("p_issue_date")).fill_null(False)
    # A one-step difference between two sequential numbers is common: the amounts must agree
    # as well where the ledger has them, else the date.
    no_money = pl.all_horizontal([pl.col(c).is_null() for c in MONEY_FIELDS])
    date_or_none = date_agree | pl.col("issue_date").is_null()
    found = (
        found.with_columns(
            _score=pl.col("_strong").cast(pl.Int32) * 4
            + amount_agree.cast(pl.Int32) * 2
            + date_agree.cast(pl.Int32)
        )
        .filter(pl.col("_strong") | amount_agree | (no_money & date_or_none))
        .sort("_score", "row", descending=[True, False])
        .unique("row", keep="first", maintain_order=True)
        .unique("p_id", keep="first", maintain_order=True)
    )
    # Without a code in the ledger, classify_identity is classify of the numbers: called directly.
    patterns = [
        nearmatch.classify(ln, pn) if not lc else nearmatch.classify_identity(lc, ln, pc, pn)
        for lc, ln, pc, pn in found.select("code", "number", "p_code", "p_number").iter_rows()
    ]
    found = found.with_columns(kind=pl.Series(patterns, dtype=pl.String)).filter(
        pl.col("kind").is_not_null()
    )
    if not found.height:
        return nothing
    _clean, differing = _compare_fields(found.with_columns(pl.lit(None, pl.String).alias("side")))
    found = found.join(differing.select("row", "fields"), on="row", how="left")
    found = found.with_columns(
        fields=pl.concat_str(
            [pl.lit("number"), pl.col("fields")], separator=",", ignore_nulls=True
        ),
        message=pl.col("kind").replace_strict(nearmatch.LABELS, default=""),
    )
    items = _result(found, PROBABLE_TYPO, kind=None)
    return (
        items,
        l_only.join(found.select("row"), on="row", how="anti"),
        p_only.join(found.select("p_id"), on="p_id", how="anti"),
    )


# --- results -----------------------------------------------------------------------------------


def _result(
    frame: pl.DataFrame, category: str, *, kind: str | None = "", keep_ledger: bool = False
) -> pl.DataFrame:
    """`frame` (ledger columns, p_* columns, and any result columns already made) in the result
    schema."""
    have = set(frame.columns)

    def col(name: str, *sources: str) -> pl.Expr:
        for source in sources:
            if source in have:
                return pl.col(source).cast(RESULT_SCHEMA[name]).alias(name)
        return pl.lit(None, dtype=RESULT_SCHEMA[name]).alias(name)

    if not frame.height and not have:
        return pl.DataFrame(schema=RESULT_SCHEMA)
    exprs = [
        pl.lit(category).alias("category"),
        pl.lit(kind).alias("kind") if kind is not None else col("kind", "kind"),
        col("row", "row"),
        col("rows", "rows"),
        col("ledger_code", "ledger_code", "code"),
        col("ledger_number", "ledger_number", "number"),
        col("invoice_id", "p_id"),
        col("code", "p_code"),
        col("number", "p_number"),
        col("invoice_ids", "invoice_ids"),
        col("numbers", "numbers"),
        col("l_issue_date", "l_issue_date", "issue_date"),
        col("l_amount", "l_amount", "amount"),
        col("l_tax", "l_tax", "tax"),
        col("l_total", "l_total", "total"),
        col("l_counterparty_name", "l_counterparty_name", "counterparty_name"),
        col("l_counterparty_tax_id", "l_counterparty_tax_id", "counterparty_tax_id"),
        col("l_side", "side"),
        col("p_issue_date", "p_issue_date"),
        col("p_amount", "p_amount"),
        col("p_tax", "p_tax"),
        col("p_total", "p_total"),
        col("p_counterparty_name", "p_counterparty_name"),
        col("p_counterparty_tax_id", "p_counterparty_tax_id"),
        col("p_side", "p_side"),
        col("p_status", "p_status"),
        col("fields", "fields"),
        col("message", "message"),
    ]
    for name in _LEDGER_KEEP:
        if keep_ledger:
            exprs.append(col(f"l_{name}", name))
        else:
            exprs.append(pl.lit(None, dtype=RESULT_SCHEMA[f"l_{name}"]).alias(f"l_{name}"))
    if category == MISSING_IN_LEDGER:
        exprs[4:6] = [
            pl.lit(None, dtype=pl.String).alias("ledger_code"),
            pl.lit(None, dtype=pl.String).alias("ledger_number"),
        ]
    return frame.select(exprs)


def _finish(parts: list[pl.DataFrame]) -> pl.DataFrame:
    parts = [p.select(list(RESULT_SCHEMA)) for p in parts if p.height]
    if not parts:
        return pl.DataFrame(schema=RESULT_SCHEMA)
    frame = pl.concat(parts, how="vertical_relaxed") if len(parts) > 1 else parts[0]
    return frame.cast(RESULT_SCHEMA)


def amount_of(frame: pl.DataFrame) -> pl.Expr:
    """The amount a result row stands for: the ledger's total, else the platform's."""
    return pl.coalesce("l_total", "p_total", "l_amount", "p_amount")


def summarize(frames: dict[str, pl.DataFrame]) -> dict[str, dict]:
    summary = {}
    for category, frame in frames.items():
        total = frame.select(amount_of(frame).sum()).item() if frame.height else 0
        summary[category] = {"count": frame.height, "cents": int(total or 0)}
    return summary
