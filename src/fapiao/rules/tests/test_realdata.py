"""The rules against the real invoices of shared/realdata (ground truth independent of the QR)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from fapiao.rules import numbers, qr, regions, rmb, uscc
from fapiao.rules.numbers import NumberKind
from fapiao.rules.problems import ProblemCode
from fapiao.rules.tests.realdata import (
    MIXED_FILES,
    entries,
    is_test_data,
    manifest_path,
    money,
    require,
    truth,
)
from fapiao.rules.text import nfkc


def _payloads(entry):
    found = [entry["qr_payload"]] if entry.get("qr_payload") else []
    graph_code = truth(entry).get("graph_code")
    if graph_code and graph_code not in found:
        found.append(graph_code)
    return found


def test_manifest_is_found():
    assert manifest_path().is_file(), f"missing {manifest_path()}"


@pytest.mark.parametrize(
    "entry", entries(lambda e: e["is_invoice"] and (e["qr_payload"] or truth(e).get("graph_code")))
)
def test_every_invoice_qr_payload_parses_and_agrees_with_truth(entry):
    entry = require(entry)
    t = truth(entry)
    for text in _payloads(entry):
        payload = qr.parse(text)
        assert payload.problems == ()
        assert payload.amount_includes_tax == (len(payload.number) == 20)
        if not t or (entry["path"] in MIXED_FILES and text == entry["qr_payload"]):
            continue
        assert payload.number == t["number"]
        assert payload.issue_date == dt.date.fromisoformat(t["date"])
        assert payload.code == t.get("code")
        if "check_code" in t:
            assert payload.check_code == t["check_code"]
            assert payload.check_code_last6 == t["check_code"][-6:]
        if payload.amount_includes_tax:
            assert payload.total == money(t.get("amount_incl") or t["amount_incl_from_words"])
            assert payload.amount_excluding_tax is None
        else:
            assert payload.amount_excluding_tax == money(t["amount_excl"])
            assert payload.total is None


@pytest.mark.parametrize("entry", entries(lambda e: e["path"] in MIXED_FILES))
def test_mixed_file_qr_disagrees_with_its_embedded_invoice(entry):
    entry = require(entry)
    payload = qr.parse(entry["qr_payload"])
    assert payload.number != truth(entry)["number"]
    assert qr.parse(truth(entry)["graph_code"]).number == truth(entry)["number"]


@pytest.mark.parametrize("entry", entries(lambda e: e["qr_payload"] and not e["is_invoice"]))
def test_non_invoice_qr_is_refused_clearly(entry):
    entry = require(entry)
    with pytest.raises(qr.QrError) as caught:
        qr.parse(entry["qr_payload"])
    assert caught.value.problem.code == ProblemCode.QR_NOT_INVOICE
    assert "不是发票二维码" in caught.value.problem.message


@pytest.mark.parametrize("entry", entries(lambda e: "number" in truth(e)))
def test_every_truth_number_parses(entry):
    entry = require(entry)
    t = truth(entry)
    info = numbers.parse(t.get("code"), t["number"])
    assert info.kind == NumberKind(entry["invoice_class"])
    assert info.number == t["number"]
    assert info.code == t.get("code")
    if t["number"] == "00000000":  # flagged test data: the all-zero sample invoice
        assert is_test_data(entry)
        assert not info.ok
        assert ProblemCode.NUMBER_ALL_ZERO in {p.code for p in info.problems}
        return
    assert info.ok, info.problems
    assert info.region is not None
    assert info.year is not None
    if info.kind is NumberKind.DIGITAL:
        assert t["number"].startswith(str(info.year % 100))


@pytest.mark.parametrize(
    "entry", entries(lambda e: "seller_tax_id" in truth(e) and not is_test_data(e))
)
def test_number_region_matches_seller_province(entry):
    entry = require(entry)
    t = truth(entry)
    info = numbers.parse(t.get("code"), t["number"])
    seller = uscc.check(t["seller_tax_id"])
    assert regions.same_province(info.region, seller.region)


@pytest.mark.parametrize(
    "entry", entries(lambda e: e["invoice_class"] == "legacy" and "title" in truth(e))
)
def test_legacy_title_names_the_region_and_type_of_the_code(entry):
    entry = require(entry)
    t = truth(entry)
    info = numbers.parse(t["code"], t["number"])
    if t["code"] == "000000000000":
        return  # flagged sample: no region in an all-zero code
    assert t["title"].startswith(info.region.short_name)


def _tax_ids(entry):
    t = truth(entry)
    return [t[k] for k in ("buyer_tax_id", "seller_tax_id") if k in t]


@pytest.mark.parametrize("entry", entries(lambda e: _tax_ids(e) and not is_test_data(e)))
def test_every_truth_tax_id_is_well_formed(entry):
    entry = require(entry)
    for tax_id in _tax_ids(entry):
        result = uscc.check(tax_id)
        assert result.well_formed, result.message
        assert result.checksum_ok is not False, tax_id
        assert result.problems == ()


@pytest.mark.parametrize("entry", entries(lambda e: _tax_ids(e) and is_test_data(e)))
def test_flagged_sample_tax_ids_are_reported_as_flagged(entry):
    """Every tax ID of a flagged sample gets the verdict its flags call for, with no escape:
    illegal characters → not well-formed (USCC_CHAR only); a flagged checksum → well-formed with
    exactly the checksum warning; a length outside 15/18/20 or all zeros → not well-formed;
    anything else on a flagged sample → a clean, well-formed USCC."""
    entry = require(entry)
    t = truth(entry)
    flags = entry["test_data_flags"]
    checked = 0
    for field in ("buyer_tax_id", "seller_tax_id"):
        if field not in t:
            continue
        tax_id = t[field]
        result = uscc.check(tax_id)
        checksum_flagged = any(f.startswith("USCC checksum fails") and field in f for f in flags)
        codes = {p.code for p in result.problems}
        if set(tax_id) - set(uscc.CHARSET):  # 9150010807MGZHI002 is not even well-formed
            assert not result.well_formed, tax_id
            assert codes == {ProblemCode.USCC_CHAR}, tax_id
        elif checksum_flagged:
            assert result.kind is uscc.UsccKind.USCC, tax_id
            assert result.well_formed and result.checksum_ok is False, tax_id
            assert [p.code for p in result.problems] == [ProblemCode.USCC_CHECKSUM], tax_id
        elif len(tax_id) not in (15, 18, 20) or set(tax_id) == {"0"}:
            # 17 characters (91110101202001201: a USCC one short) or all zeros
            assert any("tax ID length" in f for f in flags), (tax_id, flags)
            assert not result.well_formed and not result.ok, tax_id
            assert codes & {
                ProblemCode.USCC_LENGTH,
                ProblemCode.USCC_AUTHORITY,
                ProblemCode.USCC_IMPLAUSIBLE,
            }, (tax_id, codes)
        else:
            assert result.kind is uscc.UsccKind.USCC, tax_id
            assert result.well_formed and result.checksum_ok is True, tax_id
            assert result.problems == (), tax_id
        checked += 1
    assert checked == len(_tax_ids(entry)) > 0


@pytest.mark.parametrize("entry", entries(lambda e: "amount_incl_words" in truth(e)))
def test_every_amount_in_words_is_the_capital_of_the_total(entry):
    entry = require(entry)
    t = truth(entry)
    words = t["amount_incl_words"]
    total = money(t.get("amount_incl") or t["amount_incl_from_words"])
    assert rmb.parse_capital(words) == total
    assert rmb.matches_capital(words, total)
    # Two issuers print other styles (元 with 零 before 角; 整 after 角); all others are canonical.
    if words not in {"叁拾元零肆角玖分", "伍仟玖佰伍拾肆圆捌角整"}:
        assert rmb.capital(total) == words


@pytest.mark.parametrize("entry", entries(lambda e: "amount_incl" in truth(e)))
def test_totals_add_up(entry):
    entry = require(entry)
    t = truth(entry)
    if "amount_excl" in t and "tax" in t:
        assert money(t["amount_excl"]) + money(t["tax"]) == money(t["amount_incl"])
    if "amount_incl_from_words" in t:
        assert money(t["amount_incl_from_words"]) == money(t["amount_incl"])


@pytest.mark.parametrize("entry", entries(lambda e: e["qr_payload"] and "title" in truth(e)))
def test_qr_type_matches_the_printed_title(entry):
    entry = require(entry)
    if entry["path"] in MIXED_FILES:
        return
    payload = qr.parse(entry["qr_payload"])
    assert payload.type is not None
    assert nfkc(payload.type.name) in nfkc(truth(entry)["title"])


def test_corpus_amounts_are_decimal_strings():
    loaded = entries(lambda e: "amount_incl" in truth(e))
    for param in loaded:
        entry = require(param.values[0])
        assert Decimal(truth(entry)["amount_incl"]).as_tuple().exponent == -2
