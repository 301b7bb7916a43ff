"""The comparison itself, on frames: every category, every typo pattern, the partial cases, the
period and side."""

import datetime as dt

import polars as pl
import pytest

from fapiao.reconcile import engine
from fapiao.reconcile.engine import Scope
from fapiao.rules import nearmatch

ORG = "91110108MA01YF8K3U"
DAY = dt.date(2025, 5, 20)
N = "25112000000000001234"  # a 数电 number


def inv(id_: int, number: str, *, code: str = "", total: int = 106000, **fields) -> dict:
    values = {
        "id": id_,
        "code": code,
        "number": number,
        "issue_date": DAY,
        "amount": total * 100 // 106,
        "tax": total - total * 100 // 106,
        "total": total,
        "counterparty_name": "上海明德贸易有限公司",
        "counterparty_tax_id": "91310115MA1K000001",
        "side": "seller",
        "status": 0,
        "is_red": False,
        "original_id": None,
    }
    values.update(fields)
    return values


def row(row_: int, number: str, *, code: str = "", **fields) -> dict:
    values = {"row": row_, "code": code, "number": number, "issue_date": DAY, "total": 106000}
    values.update(fields)
    return values


def platform(*invoices: dict) -> pl.DataFrame:
    return pl.DataFrame(list(invoices), schema=engine.PLATFORM_COLUMNS)


def ledger(*rows: dict) -> pl.DataFrame:
    keys = {k for r in rows for k in r}
    schema = {k: v for k, v in engine.LEDGER_COLUMNS.items() if k in keys}
    return pl.DataFrame([{k: r.get(k) for k in schema} for r in rows], schema=schema)


def compare(rows, invoices, **scope) -> dict[str, list[dict]]:
    result = engine.compare(
        ledger(*rows), platform(*invoices), scope=Scope(tax_id=ORG, **scope), reds=None
    )
    return {c: f.to_dicts() for c, f in result.frames.items()}, result


def numbers_of(items: list[dict], key: str = "number") -> list:
    return [i[key] for i in items]


def test_a_ledger_that_agrees_is_all_matched():
    out, result = compare([row(2, N), row(3, N[:-1] + "5")], [inv(1, N), inv(2, N[:-1] + "5")])
    assert [i["row"] for i in out["matched"]] == [2, 3]
    assert all(not out[c] for c in engine.CATEGORIES if c != engine.MATCHED)
    assert result.summary["matched"] == {"count": 2, "cents": 212000}


def test_missing_on_either_side_are_listed_with_their_amounts():
    out, result = compare(
        [row(2, N), row(3, "25112000000000099999", total=5000)],
        [inv(1, N), inv(2, "25112000000000077777", total=30000)],
    )
    assert [(i["row"], i["ledger_number"]) for i in out["missing_on_platform"]] == [
        (3, "25112000000000099999")
    ]
    assert numbers_of(out["missing_in_ledger"]) == ["25112000000000077777"]
    assert out["missing_in_ledger"][0]["row"] is None
    assert result.summary["missing_on_platform"] == {"count": 1, "cents": 5000}
    assert result.summary["missing_in_ledger"] == {"count": 1, "cents": 30000}


@pytest.mark.parametrize(
    ("field", "ledger_value", "platform_value"),
    [
        ("issue_date", dt.date(2025, 5, 21), DAY),
        ("total", 106100, 106000),
        ("amount", 1, 100000),
        ("tax", 7, 6000),
        ("counterparty_tax_id", "91310115MA1K000002", "91310115MA1K000001"),
        ("counterparty_name", "上海明德商贸有限公司", "上海明德贸易有限公司"),
    ],
)
def test_a_field_mismatch_names_the_field_and_both_values(field, ledger_value, platform_value):
    out, _ = compare([row(2, N, **{field: ledger_value})], [inv(1, N)])
    (item,) = out["mismatched"]
    assert item["fields"] == field
    assert item["row"] == 2 and item["invoice_id"] == 1
    assert item[f"l_{field}"] == ledger_value and item[f"p_{field}"] == platform_value


def test_names_differing_only_in_spaces_and_full_width_brackets_agree():
    out, _ = compare(
        [row(2, N, counterparty_name="上海明德（集团） 有限公司")],
        [inv(1, N, counterparty_name="上海明德(集团)有限公司")],
    )
    assert len(out["matched"]) == 1 and not out["mismatched"]


def test_several_fields_differ_at_once():
    out, _ = compare([row(2, N, total=1, issue_date=dt.date(2025, 1, 1))], [inv(1, N)])
    assert out["mismatched"][0]["fields"] == "issue_date,total"


def test_a_voided_invoice_in_the_ledger_is_a_status_mismatch_and_unbooked_it_is_expected():
    out, _ = compare([row(2, N)], [inv(1, N, status=2), inv(2, "25112000000000055555", status=2)])
    assert out["mismatched"][0]["fields"] == "status"
    assert not out["missing_in_ledger"]


TYPOS = [
    (nearmatch.ONE_DIGIT, "", "25112000000000001235", "", N),
    (nearmatch.ADJACENT_SWAP, "", "25112000000000002134", "", N),
    (nearmatch.DIGIT_MISSING, "", "2511200000000001234", "", N),
    (nearmatch.DIGIT_EXTRA, "", "251120000000000012345", "", N),
    (nearmatch.LOOKALIKE, "", "251I20000000000O1234", "", N),
    (nearmatch.CODE_PLUS_NUMBER, "251120000000", "00001234", "", N),
    (nearmatch.CODE_NUMBER_SWAPPED, "00001234", "011001900104", "011001900104", "00001234"),
]


@pytest.mark.parametrize(("pattern", "l_code", "l_number", "p_code", "p_number"), TYPOS)
def test_each_near_match_pattern_is_a_probable_typo(pattern, l_code, l_number, p_code, p_number):
    out, _ = compare([row(2, l_number, code=l_code)], [inv(7, p_number, code=p_code)])
    (typo,) = out["probable_typo"]
    assert typo["kind"] == pattern
    assert typo["row"] == 2 and typo["invoice_id"] == 7
    assert (typo["ledger_code"], typo["ledger_number"]) == (l_code, l_number)
    assert (typo["code"], typo["number"]) == (p_code, p_number)
    assert typo["fields"] == "number"
    assert typo["message"] == nearmatch.LABELS[pattern]
    assert not out["missing_on_platform"] and not out["missing_in_ledger"]


def test_a_typo_reports_the_other_fields_that_differ_too():
    out, _ = compare([row(2, "25112000000000001235", issue_date=dt.date(2025, 5, 1))], [inv(7, N)])
    assert out["probable_typo"][0]["fields"] == "number,issue_date"


def test_neighbouring_numbers_with_other_amounts_are_not_typos():
    """Sequential numbers differ in one digit all the time: the amount must agree too."""
    out, _ = compare([row(2, "25112000000000001235", total=5000)], [inv(7, N, total=106000)])
    assert not out["probable_typo"]
    assert len(out["missing_on_platform"]) == 1 and len(out["missing_in_ledger"]) == 1


def test_each_row_and_invoice_is_paired_once_preferring_the_agreeing_amount():
    out, _ = compare(
        [row(2, "25112000000000001235", total=106000)],
        [inv(7, N, total=106000), inv(8, "25112000000000001236", total=106000)],
    )
    assert len(out["probable_typo"]) == 1
    assert len(out["missing_in_ledger"]) == 1


def test_a_cell_naming_two_invoices_is_one_row_against_two():
    second = "25112000000000001299"
    out, _ = compare([row(2, f"{N}/{second}", total=212000)], [inv(1, N), inv(2, second)])
    (item,) = out["partial"]
    assert item["kind"] == engine.SPLIT and item["rows"] == "2"
    assert item["numbers"] == f"{N},{second}" and item["fields"] == ""
    assert not out["missing_in_ledger"] and not out["missing_on_platform"]


def test_a_number_without_its_code_that_two_invoices_share_is_reported_not_forced():
    out, _ = compare(
        [row(2, "00001234")],
        [inv(1, "00001234", code="011001900104"), inv(2, "00001234", code="031001900104")],
    )
    (item,) = out["partial"]
    assert item["kind"] == engine.AMBIGUOUS
    assert "011001900104" in item["message"] and "031001900104" in item["message"]
    assert not out["matched"] and not out["missing_in_ledger"]


def test_a_number_without_its_code_that_one_invoice_has_matches():
    out, _ = compare([row(2, "00001234")], [inv(1, "00001234", code="011001900104")])
    assert out["matched"][0]["invoice_id"] == 1


def test_a_blue_invoice_booked_net_of_its_red_one_is_partial():
    red = "25112000000000009999"
    out, _ = compare(
        [row(2, N, total=66000)],
        [inv(1, N, status=7), inv(2, red, total=-40000, is_red=True, original_id=1)],
    )
    (item,) = out["partial"]
    assert item["kind"] == engine.NET_OF_RED
    assert item["numbers"] == f"{N},{red}"
    assert not out["mismatched"] and not out["missing_in_ledger"]


def test_a_red_invoice_booked_under_the_blue_number_is_partial():
    red = "25112000000000009999"
    reds = platform(inv(2, red, total=-106000, is_red=True, original_id=1))
    result = engine.compare(
        ledger(row(2, N), row(3, N, total=-106000)),
        platform(inv(1, N, status=8)),
        scope=Scope(tax_id=ORG),
        reds=reds,
    )
    out = {c: f.to_dicts() for c, f in result.frames.items()}
    assert [i["row"] for i in out["matched"]] == [2]
    (item,) = out["partial"]
    assert item["kind"] == engine.RED_UNDER_BLUE and item["row"] == 3
    assert item["numbers"] == red


def test_a_row_booked_twice_is_a_duplicate_naming_the_invoice():
    out, _ = compare([row(2, N), row(5, N)], [inv(1, N)])
    assert [i["row"] for i in out["matched"]] == [2]
    (item,) = out["partial"]
    assert item["kind"] == engine.DUPLICATE and item["rows"] == "2,5"
    assert item["numbers"] == N and item["invoice_id"] == 1


def test_one_invoice_booked_as_rows_that_add_up_is_partial_not_a_mismatch():
    number = "26112000000000889710"
    out, _ = compare(
        [row(2, number, total=4000000), row(3, number, total=503569)],
        [inv(1, number, total=4503569)],
    )
    assert not out["mismatched"] and not out["matched"] and not out["missing_in_ledger"]
    (item,) = out["partial"]
    assert item["kind"] == engine.MANY_ROWS
    assert (item["rows"], item["numbers"], item["invoice_id"]) == ("2,3", number, 1)
    assert (item["l_total"], item["p_total"]) == (4503569, 4503569)
    assert "2、3" in item["message"]


def test_rows_that_add_up_to_the_amount_without_tax_are_partial_too():
    out, _ = compare(
        [row(2, N, total=None, amount=60000), row(3, N, total=None, amount=40000)],
        [inv(1, N, total=106000, amount=100000)],
    )
    assert [i["kind"] for i in out["partial"]] == [engine.MANY_ROWS]
    assert not out["mismatched"]


def test_rows_that_do_not_add_up_stay_a_mismatch_and_a_duplicate():
    out, _ = compare([row(2, N, total=50000), row(3, N, total=50000)], [inv(1, N)])
    assert [i["row"] for i in out["mismatched"]] == [2]
    assert [i["kind"] for i in out["partial"]] == [engine.DUPLICATE]


def test_a_negative_row_without_a_red_invoice_is_a_reversal_not_a_duplicate():
    out, _ = compare([row(2, N), row(3, N, total=-50000)], [inv(1, N)])
    assert [i["row"] for i in out["matched"]] == [2]
    (item,) = out["partial"]
    assert item["kind"] == engine.REVERSAL and item["rows"] == "2,3"
    assert item["numbers"] == N
    assert "重复" not in item["message"]


def test_rows_outside_the_period_are_not_compared_unless_they_match():
    out, result = compare(
        [row(2, N, issue_date=dt.date(2025, 7, 1)), row(3, "25112000000000004444",
                                                          issue_date=dt.date(2025, 7, 2))],
        [inv(1, N)],
        date_from=dt.date(2025, 5, 1),
        date_to=dt.date(2025, 5, 31),
    )  # fmt: skip
    assert out["mismatched"][0]["fields"] == "issue_date"
    assert not out["missing_on_platform"]
    assert result.out_of_scope == 1


def test_rows_of_the_other_side_are_out_of_scope():
    rows = [
        row(2, N, seller_tax_id=ORG, buyer_tax_id="91310115MA1K000001"),
        row(3, "25112000000000004444", seller_tax_id="91310115MA1K000001", buyer_tax_id=ORG),
    ]
    out, result = compare(rows, [inv(1, N)], side="seller")
    assert len(out["matched"]) == 1 and not out["missing_on_platform"]
    assert result.out_of_scope == 1
    out, result = compare(rows, [inv(1, N)], side="both")
    assert [i["row"] for i in out["missing_on_platform"]] == [3]


def test_seller_and_buyer_columns_give_the_counterparty():
    rows = [row(2, N, seller_tax_id=ORG, buyer_name="别的公司", buyer_tax_id="91310115MA1K000001")]
    out, _ = compare(rows, [inv(1, N)])
    (item,) = out["mismatched"]
    assert item["fields"] == "counterparty_name"
    assert item["l_counterparty_name"] == "别的公司"


def test_a_purchase_booked_as_a_sale_is_a_side_mismatch():
    rows = [row(2, N, seller_tax_id="91310115MA1K000001", buyer_tax_id=ORG)]
    out, _ = compare(rows, [inv(1, N, side="seller")])
    assert "side" in out["mismatched"][0]["fields"].split(",")


def test_an_outside_lookup_turns_a_missing_row_into_a_date_mismatch():
    def outside(identities):
        assert identities == [("", N)]
        return platform(inv(9, N, issue_date=dt.date(2024, 12, 31)))

    result = engine.compare(ledger(row(2, N)), platform(), scope=Scope(tax_id=ORG), outside=outside)
    (item,) = result.frames[engine.MISMATCHED].to_dicts()
    assert item["fields"] == "issue_date" and item["invoice_id"] == 9
    assert not result.frames[engine.MISSING_ON_PLATFORM].height


def test_an_empty_ledger_lists_every_invoice_as_missing_from_it():
    result = engine.compare(
        pl.DataFrame(schema=engine.LEDGER_COLUMNS), platform(inv(1, N)), scope=Scope(tax_id=ORG)
    )
    assert result.summary[engine.MISSING_IN_LEDGER]["count"] == 1
    assert result.frame().height == 1
