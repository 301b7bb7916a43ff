"""The finder's engine: found, and every diagnosis code, with its evidence and candidates."""

import datetime as dt
import json
import sys
import types
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from fapiao import testing
from fapiao.finder.diagnosis import Basis, Code, FinderQuery, invoice_find
from fapiao.imports.models import ImportProblem, ImportStatus, InvoiceImport
from fapiao.invoices.models import InvoiceStatus
from fapiao.rules import numbers

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 6, 15)
DAY = dt.date(2026, 3, 2)


def number(serial: int, region: str = "11", year: int = 2026) -> str:
    return numbers.digital_number(year, region, "2", serial)


def find(org, **fields):
    return invoice_find(organization=org, query=FinderQuery(**fields), today=TODAY)


def codes(result) -> list[str]:
    return [d.code for d in result.diagnoses]


def diagnosis(result, code):
    return next(d for d in result.diagnoses if d.code == code)


def test_an_exact_number_is_found(org):
    invoice = testing.invoice(seller=org, number=number(1234567), day=DAY)
    result = find(org, number=f" {invoice.number[:10]} {invoice.number[10:]}  ".replace(" ", ""))
    assert result.found and result.invoice == invoice and result.diagnoses == []
    as_json = result.as_dict()
    assert as_json["found"] is True and as_json["invoice"]["number"] == invoice.number
    assert as_json["invoice"]["total"] == "106.00"


def test_the_number_the_user_bought_is_found_too(org):
    invoice = testing.invoice(buyer=org, number=number(7), day=DAY)
    assert find(org, number=invoice.number, date=DAY, amount=Decimal("106.00")).found


def test_one_digit_wrong_proposes_the_right_invoice_and_says_which_digit(org):
    right = testing.invoice(seller=org, number=number(1234567), day=DAY)
    typed = right.number[:-1] + ("0" if right.number[-1] != "0" else "1")
    result = find(org, number=typed)
    assert not result.found and codes(result)[0] == Code.NEAR_MATCH
    near = diagnosis(result, Code.NEAR_MATCH)
    assert near.candidates == [right.number]
    assert "第 20 位" in near.evidence[0]
    assert near.proposals[0].pattern == "one_digit_wrong"


@pytest.mark.parametrize(
    ("typed", "pattern"),
    [
        (lambda n: n[:-2] + n[-1] + n[-2], "adjacent_swap"),
        (lambda n: n[:-1], "digit_missing"),
        (lambda n: n + "5", "digit_extra"),
        (lambda n: n[:5] + "O" + n[6:], "lookalike"),
    ],
)
def test_near_match_patterns(org, typed, pattern):
    right = testing.invoice(seller=org, number=number(1234560), day=DAY)
    result = find(org, number=typed(right.number))
    near = diagnosis(result, Code.NEAR_MATCH)
    assert near.candidates[0] == right.number and near.proposals[0].pattern == pattern


def test_a_digital_number_split_into_code_and_number(org):
    right = testing.invoice(seller=org, number=number(1230000), day=DAY)
    result = find(org, code=right.number[:10], number=right.number[10:])
    near = diagnosis(result, Code.NEAR_MATCH)
    assert near.candidates == [right.number]
    assert near.proposals[0].pattern == "code_plus_number"
    assert near.score >= 95


def test_legacy_code_and_number_swapped(org):
    right = testing.invoice(
        seller=org, type_code="04", code="011001900104", number="00012345", day=DAY
    )
    result = find(org, code="00012345", number="011001900104")
    near = diagnosis(result, Code.NEAR_MATCH)
    assert near.candidates == [right.number] and near.proposals[0].pattern == "code_number_swapped"


def test_near_matches_are_ranked_by_the_other_fields(org):
    # Sequential numbers: every last digit exists; the amount picks the right one.
    for serial in range(1230001, 1230009):
        testing.invoice(seller=org, number=number(serial), day=DAY, amount=f"{serial % 100}.00")
    wanted = number(1230005)
    result = find(org, number=number(1230000), amount=Decimal("5.30"))  # not on the platform
    near = diagnosis(result, Code.NEAR_MATCH)
    assert near.candidates[0] == wanted
    assert near.proposals[0].agrees == ["金额"]
    assert len(near.candidates) == 5  # the most likely five are shown
    assert "另有 3 张" in near.evidence[-1]


def test_near_matches_come_only_from_the_organizations_invoices(org):
    other = testing.organization()
    theirs = testing.invoice(seller=other, number=number(1234567), day=DAY)
    result = find(org, number=theirs.number[:-1] + "0")
    assert Code.NEAR_MATCH not in codes(result)
    assert theirs.number not in json.dumps(result.as_dict())


def test_right_number_other_date(org):
    invoice = testing.invoice(seller=org, number=number(55), day=DAY)
    result = find(org, number=invoice.number, date=DAY + dt.timedelta(days=1))
    assert not result.found and result.invoice is None
    d = diagnosis(result, Code.DATE_MISMATCH)
    assert d.candidates == [invoice.number]
    assert "2026-03-02" in " ".join(d.evidence)


def test_amount_excluding_tax_where_the_total_was_asked(org):
    invoice = testing.invoice(seller=org, number=number(56), day=DAY, amount="1000.00")
    result = find(org, number=invoice.number, amount=Decimal("1000.00"), basis=Basis.TOTAL)
    assert not result.found
    d = diagnosis(result, Code.TAX_INCLUSION_MISMATCH)
    assert "1060.00" in d.message
    result = find(org, number=invoice.number, amount=Decimal("1060.00"), basis=Basis.AMOUNT)
    assert codes(result) == [Code.TAX_INCLUSION_MISMATCH]
    # Either basis accepted when the user does not say which it is.
    assert find(org, number=invoice.number, amount=Decimal("1000.00")).found


def test_tax_inclusion_without_a_number(org):
    invoice = testing.invoice(seller=org, number=number(57), day=DAY, amount="2000.00")
    result = find(org, date=DAY, amount=Decimal("2120.00"), basis=Basis.AMOUNT)
    d = diagnosis(result, Code.TAX_INCLUSION_MISMATCH)
    assert d.candidates == [invoice.number]
    assert find(org, date=DAY, amount=Decimal("2120.00"), basis=Basis.TOTAL).invoice == invoice


def test_date_mismatch_without_a_number(org):
    invoice = testing.invoice(seller=org, number=number(58), day=DAY, amount="3000.00")
    result = find(org, date=DAY + dt.timedelta(days=3), amount=Decimal("3180.00"))
    d = diagnosis(result, Code.DATE_MISMATCH)
    assert d.candidates == [invoice.number]


def test_found_by_party_and_several_matches(org):
    a = testing.invoice(seller=org, number=number(60), day=DAY, buyer_name="上海明德贸易有限公司")
    testing.invoice(seller=org, number=number(61), day=DAY, buyer_name="上海明德贸易有限公司")
    result = find(org, party="明德贸易")
    assert not result.found and codes(result) == [Code.SEVERAL_MATCHES]
    assert sorted(diagnosis(result, Code.SEVERAL_MATCHES).candidates) == [number(60), number(61)]
    assert find(org, party="明德贸易", amount=Decimal("106.00"), date=DAY).found is False
    a.total, a.amount, a.tax = Decimal("212.00"), Decimal("200.00"), Decimal("12.00")
    a.save()
    assert find(org, party="明德贸易", amount=Decimal("212.00")).invoice == a


def test_voided_is_found_and_says_so(org):
    invoice = testing.invoice(seller=org, number=number(70), day=DAY, status=InvoiceStatus.VOIDED)
    result = find(org, number=invoice.number)
    assert result.found and codes(result) == [Code.VOIDED]
    assert "作废" in result.diagnoses[0].message


def test_red_lettered_names_the_red_invoice(org):
    blue = testing.invoice(seller=org, number=number(71), day=DAY, status=InvoiceStatus.FULLY_RED)
    red = testing.invoice(
        seller=org, number=number(72), day=DAY + dt.timedelta(days=5), amount="-100.00",
        is_red=True, original=blue,
    )  # fmt: skip
    result = find(org, number=blue.number)
    d = diagnosis(result, Code.RED_LETTERED)
    assert d.candidates == [red.number]
    assert red.number in " ".join(d.evidence)


@pytest.mark.parametrize(("region", "name"), [("31", "上海市"), ("44", "广东省"), ("92", "青岛市")])
def test_another_regions_number_names_its_system(org, region, name):
    result = find(org, number=number(1234, region=region))
    d = diagnosis(result, Code.OTHER_REGION)
    assert codes(result)[0] == Code.OTHER_REGION
    assert name in d.message and "北京" in d.message
    assert f"“{region}”" in d.evidence[0]


def test_legacy_code_of_another_region(org):
    result = find(org, code="031001900104", number="00012345")
    assert "上海市" in diagnosis(result, Code.OTHER_REGION).message


def test_a_beijing_number_is_not_another_region(org):
    assert Code.OTHER_REGION not in codes(find(org, number=number(99)))


def test_issued_today_is_too_recent(org):
    # T+1: the data of 06-15 is on the platform from 06-16 (not a day later).
    result = find(org, number=number(4444), date=TODAY)
    d = diagnosis(result, Code.TOO_RECENT)
    assert "2026-06-16" in d.message and "2026-06-17" not in d.message
    assert codes(result)[0] == Code.TOO_RECENT


def test_issued_yesterday_may_still_lag_a_day(org):
    result = find(org, number=number(4448), date=TODAY - dt.timedelta(days=1))
    d = diagnosis(result, Code.TOO_RECENT)
    assert d.score < 90 and "2026-06-16" in d.message and "延迟" in d.message
    two_days = find(org, number=number(4449), date=TODAY - dt.timedelta(days=2))
    assert Code.TOO_RECENT not in codes(two_days)


def test_a_date_in_the_future_is_a_typo_not_a_wait(org):
    result = find(org, number=number(4450), date=TODAY + dt.timedelta(days=30))
    assert Code.TOO_RECENT not in codes(result)
    d = diagnosis(result, Code.FUTURE_DATE)
    assert "未来" in d.message and "再查" not in d.message
    assert codes(result)[0] == Code.FUTURE_DATE
    fields_only = find(org, date=TODAY + dt.timedelta(days=1), amount=Decimal("1.00"))
    assert Code.FUTURE_DATE in codes(fields_only)


def test_older_than_five_years(org):
    result = find(org, number=number(4445, year=2021), date=dt.date(2021, 6, 1))
    assert Code.TOO_OLD in codes(result)
    # The number's year and the date say the same thing: one diagnosis, both clues.
    both = find(org, code="011001900104", number="00012345", date=dt.date(2019, 6, 1))
    assert codes(both).count(Code.TOO_OLD) == 1
    evidence = diagnosis(both, Code.TOO_OLD).evidence
    assert len(evidence) == 2
    assert "2019 年" in " ".join(evidence) and "2019-06-01" in " ".join(evidence)
    # The year in the number: digits 1-2 of a 数电 number, digits 6-7 of a 12-digit code.
    assert Code.TOO_OLD in codes(find(org, code="011001900104", number="00012345"))
    assert Code.TOO_OLD not in codes(find(org, number=number(4447, year=2021)))
    later = invoice_find(
        organization=org,
        query=FinderQuery(number=number(4447, year=2021)),
        today=dt.date(2027, 1, 4),
    )
    assert Code.TOO_OLD in codes(later)


def test_an_import_in_progress_or_interrupted(org):
    job = InvoiceImport.objects.create(
        organization=org, file_name="二月.csv", file_format="csv", status=ImportStatus.RUNNING,
        rows=100, rows_done=40, progress_at=timezone.now(),
    )  # fmt: skip
    d = diagnosis(find(org, number=number(5000)), Code.SYNC_PENDING)
    assert "二月.csv" in d.message and "40%" in d.message
    assert f"#{job.pk}" in d.evidence[0]
    job.status = ImportStatus.FAILED
    job.save()
    d = diagnosis(find(org, number=number(5000)), Code.SYNC_PENDING)
    assert "中断" in d.message
    assert d.steps[0].url.endswith(f"/{job.pk}/")


def test_a_rejected_import_row_with_that_number(org, admin):
    from fapiao.imports.tests.builders import csv_bytes, row, run

    typed = number(6000, year=2025)
    job = run(org, csv_bytes([row(org), row(org, 发票号码=typed, 税额="1.00")]), actor=admin)
    assert job.rejected == 1
    result = find(org, number=typed)
    d = diagnosis(result, Code.SYNC_PENDING)
    assert "第 3 行" in d.message and job.file_name in d.message
    assert codes(result)[0] == Code.SYNC_PENDING


def test_an_open_recovery_application(org, monkeypatch):
    """Through the contract of 补录's selector: recovery_open_for(organization, number, code)."""
    calls = []

    class Application:
        pk = 42
        status = "submitted"
        created_at = timezone.now()
        due_at = timezone.now() + dt.timedelta(days=3)

        def get_status_display(self):
            return "审核中"

    def recovery_open_for(*, organization, number, code=""):
        calls.append((organization, number, code))
        return Application() if number == wanted else None

    wanted = number(7000)
    fake = types.ModuleType("fapiao.recovery.selectors")
    fake.recovery_open_for = recovery_open_for
    monkeypatch.setitem(sys.modules, "fapiao.recovery.selectors", fake)
    result = find(org, number=wanted)
    d = diagnosis(result, Code.RECOVERY_PENDING)
    assert codes(result)[0] == Code.RECOVERY_PENDING
    assert "#42" in d.evidence[0] and "审核中" in d.evidence[0]
    assert calls == [(org, wanted, "")]
    assert Code.RECOVERY_PENDING not in codes(find(org, number=number(7001)))


def test_not_visible_says_only_that(org):
    seller, buyer = testing.organization(), testing.organization()
    theirs = testing.invoice(
        seller=seller, buyer=buyer, number=number(8000, region="31"), day=TODAY,
        amount="98765.43", status=InvoiceStatus.VOIDED,
    )  # fmt: skip
    result = find(org, number=theirs.number)
    assert not result.found and codes(result) == [Code.NOT_VISIBLE]
    text = json.dumps(result.as_dict(), ensure_ascii=False)
    for secret in (seller.name, buyer.name, seller.tax_id, "98765", "作废", TODAY.isoformat()):
        assert secret not in text
    assert result.diagnoses[0].candidates == []


def test_not_visible_runs_the_same_queries_whatever_the_invoice_holds(org):
    """Nothing of the hidden invoice's content steers the answer: two very different invoices of
    others give the same answer through the same SQL."""
    a, b = testing.organization(), testing.organization()
    old = testing.invoice(seller=a, number=number(8100), day=dt.date(2026, 1, 5), amount="1.00")
    new = testing.invoice(
        seller=b, buyer=a, number=number(8200), day=TODAY, amount="50000.00",
        status=InvoiceStatus.VOIDED,
    )  # fmt: skip
    testing.invoice(seller=a, buyer=b, number=number(8201), day=TODAY, is_red=False)
    answers, statements = [], []
    for invoice in (old, new):
        with CaptureQueriesContext(connection) as ctx:
            result = find(org, number=invoice.number, date=TODAY, amount=Decimal("1.00"))
        answers.append([(d.code, d.message, d.evidence, d.candidates) for d in result.diagnoses])
        statements.append([q["sql"].replace(invoice.number, "N") for q in ctx.captured_queries])
    assert answers[0] == answers[1]
    assert [s.split("WHERE")[0] for s in statements[0]] == [
        s.split("WHERE")[0] for s in statements[1]
    ]
    assert len(statements[0]) == len(statements[1])


def test_nothing_at_all(org):
    result = find(org, number=number(9999))
    assert codes(result) == [Code.NOT_ON_PLATFORM]
    assert result.as_dict() == {
        "found": False,
        "invoice": None,
        "diagnoses": [
            {
                "code": "not_on_platform",
                "message": result.diagnoses[0].message,
                "evidence": [],
                "candidates": [],
            }
        ],
    }


def test_an_empty_query_finds_nothing_and_diagnoses_nothing(org):
    result = find(org)
    assert not result.found and result.diagnoses == []


def test_an_open_recovery_application_of_the_real_module(org, admin):
    from fapiao.recovery.models import RecoveryApplication

    wanted = number(7100)
    application = RecoveryApplication.objects.create(
        organization=org, applicant=admin, status="submitted", number=wanted,
        due_at=timezone.now() + dt.timedelta(days=2),
    )  # fmt: skip
    result = find(org, number=wanted)
    d = diagnosis(result, Code.RECOVERY_PENDING)
    assert f"#{application.pk}" in d.evidence[0]
    assert d.steps and d.steps[0].url.endswith(f"/{application.pk}/")
    other = testing.organization()
    assert Code.RECOVERY_PENDING not in codes(
        invoice_find(organization=other, query=FinderQuery(number=wanted), today=TODAY)
    )


def test_what_the_invoice_list_passes_is_understood(org):
    from fapiao.finder.diagnosis import query_split

    assert query_split("011001900104 00012345") == ("011001900104", "00012345")
    assert query_split("2611200000*") == ("", "2611200000")
    assert query_split("2611200000 0012345678") == ("", "26112000000012345678")
    assert query_split("２６１１ ２０００ ０００１ ２３４５ ６７８９") == (
        "",
        "26112000000123456789",
    )
    legacy = testing.invoice(
        seller=org, type_code="04", code="011001900104", number="00012345", day=DAY
    )
    assert find(org, number="011001900104 00012345").invoice == legacy
    assert find(org, code="011001900104", number="00012345").invoice == legacy
    assert find(org, number="00012345").invoice == legacy  # the code may be left out
    near = diagnosis(find(org, code="011001900140", number="00012345"), Code.NEAR_MATCH)
    assert near.candidates == ["00012345"]
    assert "发票代码第 11、12 位颠倒" in near.evidence[0]


def test_a_code_typed_with_a_digital_number_is_ignored(org):
    invoice = testing.invoice(seller=org, number=number(31), day=DAY)
    assert find(org, code="011001900104", number=invoice.number).invoice == invoice


def test_a_legacy_number_without_its_code_is_no_identity_of_others(org):
    other = testing.organization()
    testing.invoice(seller=other, type_code="04", code="011001900104", number="00054321", day=DAY)
    assert Code.NOT_VISIBLE not in codes(find(org, number="00054321"))
    assert codes(find(org, code="011001900104", number="00054321")) == [Code.NOT_VISIBLE]


# --- the reviewer's findings (issue 7) -----------------------------------------------------------


def test_a_legacy_number_shared_by_two_codes_is_chosen_by_the_other_fields(org):
    shared = "34653717"
    newer = testing.invoice(
        seller=org, type_code="04", code="011001900104", number=shared, amount="100.00",
        day=DAY + dt.timedelta(days=5),
    )  # fmt: skip
    older = testing.invoice(
        seller=org, type_code="04", code="011001900205", number=shared, amount="2000.00", day=DAY
    )
    # The amount of the older one: found, never "amount mismatch" against the newer one.
    result = find(org, number=shared, amount=older.total)
    assert result.found and result.invoice == older and Code.AMOUNT_MISMATCH not in codes(result)
    assert find(org, number=shared, date=newer.issue_date).invoice == newer
    assert find(org, number=shared, amount=Decimal("2000.00"), basis=Basis.AMOUNT).found
    # Nothing else entered, or what was entered fits both: the candidates, not a pick.
    for fields in ({}, {"party": org.name}):
        result = find(org, number=shared, **fields)
        assert not result.found and codes(result) == [Code.SEVERAL_MATCHES]
        several = diagnosis(result, Code.SEVERAL_MATCHES)
        assert {p.invoice for p in several.proposals} == {newer, older}
        assert several.candidates == [shared, shared]
    # What was entered fits neither: still both, and no mismatch against either.
    result = find(org, number=shared, amount=Decimal("5.00"))
    assert codes(result) == [Code.SEVERAL_MATCHES]
    assert {p.invoice for p in diagnosis(result, Code.SEVERAL_MATCHES).proposals} == {newer, older}
    # The code entered names one: as before.
    assert find(org, code="011001900205", number=shared).invoice == older


def _application(org, user, wanted, status, **fields):
    from fapiao.recovery.models import RecoveryApplication

    return RecoveryApplication.objects.create(
        organization=org, applicant=user, status=status, number=wanted, **fields
    )


def test_recovery_progress_says_who_owes_the_next_step(org, admin):
    draft = _application(org, admin, number(7201), "draft")
    d = diagnosis(find(org, number=draft.number), Code.RECOVERY_PENDING)
    assert "草稿" in d.message and "提交" in d.message and "审核通过后即可查到" not in d.message
    assert d.steps[0].url.endswith(f"/{draft.pk}/") and "提交" in d.steps[0].label

    asked = _application(
        org, admin, number(7202), "more_info", staff_reason="请上传付款记录",
        decided_at=timezone.now(),
    )  # fmt: skip
    d = diagnosis(find(org, number=asked.number), Code.RECOVERY_PENDING)
    assert "补充材料" in d.message and "审核通过后即可查到" not in d.message
    assert "审核人员要求：请上传付款记录" in d.evidence

    submitted_at = timezone.now() - dt.timedelta(days=1)
    due_at = submitted_at + dt.timedelta(days=3)
    waiting = _application(
        org, admin, number(7203), "submitted", submitted_at=submitted_at, due_at=due_at
    )
    d = diagnosis(find(org, number=waiting.number), Code.RECOVERY_PENDING)
    text = " ".join(d.evidence)
    assert "等待平台审核" in d.message
    assert f"提交于 {timezone.localtime(submitted_at):%Y-%m-%d %H:%M}" in text
    assert f"审核期限：{timezone.localtime(due_at):%Y-%m-%d %H:%M}" in text


def test_a_recently_rejected_recovery_is_its_own_diagnosis(org, admin):
    wanted = number(7300)
    rejected = _application(
        org, admin, wanted, "rejected", staff_reason="发票文件与所填金额不符",
        decided_at=timezone.now() - dt.timedelta(days=10),
    )  # fmt: skip
    result = find(org, number=wanted)
    d = diagnosis(result, Code.RECOVERY_REJECTED)
    assert codes(result)[0] == Code.RECOVERY_REJECTED
    assert "驳回原因：发票文件与所填金额不符" in d.evidence
    assert f"#{rejected.pk}" in d.evidence[0]
    assert d.steps[0].url.endswith(f"/{rejected.pk}/")
    assert any(step.label == "重新申请补录" and wanted in step.url for step in d.steps)
    # Long ago, or another organization's: not reported.
    old = number(7301)
    _application(
        org, admin, old, "rejected", staff_reason="x",
        decided_at=timezone.now() - dt.timedelta(days=200),
    )  # fmt: skip
    assert Code.RECOVERY_REJECTED not in codes(find(org, number=old))
    other = testing.organization()
    assert Code.RECOVERY_REJECTED not in codes(
        invoice_find(organization=other, query=FinderQuery(number=wanted), today=TODAY)
    )


def test_a_swapped_identity_is_not_also_another_region(org):
    right = testing.invoice(
        seller=org, type_code="04", code="5100258140", number="94417092", day=DAY
    )
    result = find(org, code="94417092", number="5100258140")
    near = diagnosis(result, Code.NEAR_MATCH)
    assert near.candidates == [right.number]
    assert near.proposals[0].pattern == "code_number_swapped"
    assert Code.OTHER_REGION not in codes(result)
    assert "四川" not in json.dumps(result.as_dict(), ensure_ascii=False)


def test_a_rejected_rows_number_is_found_as_the_import_read_it(org, admin):
    from fapiao.imports.tests.builders import csv_bytes, row, run

    typed = number(6100, year=2025)
    full_width = typed.translate({ord(d): 0xFF10 + int(d) for d in "0123456789"})
    rows = [row(org), row(org), row(org, 发票号码=full_width, 税额="1.00", 金额="x")]
    job = run(org, csv_bytes(rows), name="三月.csv", actor=admin)
    assert job.rejected == 1
    d = diagnosis(find(org, number=f"{typed[:10]} {typed[10:]}"), Code.SYNC_PENDING)
    assert d.message == (
        "这张发票在贵单位的批量导入“三月.csv”中被拒绝了（第 4 行）：按原因改正后重新导入即可。"
    )
    assert d.evidence and all(line.startswith("第 4 行 ") for line in d.evidence)
    assert any("金额" in line for line in d.evidence)
    assert [step.url for step in d.steps] == [
        reverse("import_rejected", args=[job.pk]),
        reverse("import_detail", args=[job.pk]),
    ]
    assert Code.SYNC_PENDING not in codes(find(org, number=number(6101, year=2025)))


def test_a_rejected_legacy_row_is_another_invoice_under_another_code(org, admin):
    from fapiao.imports.tests.builders import HEADER, csv_bytes, row, run

    header = ["发票代码", *HEADER]
    rows = [["011001900111", *row(org, 发票类型="", 发票号码="01234567", 税额="1.00")]]
    job = run(org, csv_bytes(rows, header=header), actor=admin)
    assert job.rejected == 1
    assert Code.SYNC_PENDING in codes(find(org, code="011001900111", number="01234567"))
    assert Code.SYNC_PENDING in codes(find(org, number="01234567"))  # no code: it may be this
    assert Code.SYNC_PENDING not in codes(find(org, code="011001900222", number="01234567"))


def _done_import(org, name: str, problems: list[tuple[int, str, bool]]) -> InvoiceImport:
    """A finished import whose problems are (row, number, is warning)."""
    job = InvoiceImport.objects.create(
        organization=org, file_name=name, file_format="csv", status=ImportStatus.DONE,
        rows=len(problems), rejected=sum(not w for _, _, w in problems) or 1,
    )  # fmt: skip
    ImportProblem.objects.bulk_create(
        ImportProblem(
            invoice_import=job,
            row=r,
            column="税额",
            code="tax_mismatch",
            message="税额不对",
            is_warning=w,
            invoice_number=n,
        )
        for r, n, w in problems
    )
    return job


def test_a_row_with_only_a_warning_was_not_rejected(org):
    warned = number(6200, year=2025)
    _done_import(org, "提示.csv", [(2, warned, True), (3, number(6201, year=2025), False)])
    assert Code.SYNC_PENDING not in codes(find(org, number=warned))
    assert Code.SYNC_PENDING in codes(find(org, number=number(6201, year=2025)))


def test_another_organizations_rejected_rows_are_not_seen(org):
    from fapiao.imports.tests.builders import csv_bytes, row, run

    other = testing.organization()
    typed = number(6300, year=2025)
    job = run(other, csv_bytes([row(other, 发票号码=typed, 税额="1.00")]), name="别家.csv")
    assert job.rejected == 1
    result = find(org, number=typed)
    assert Code.SYNC_PENDING not in codes(result)
    assert "别家.csv" not in json.dumps(result.as_dict(), ensure_ascii=False)
    assert "别家.csv" in diagnosis(find(other, number=typed), Code.SYNC_PENDING).message


def test_imports_from_before_numbers_were_recorded_are_not_diagnosed_by_number(org):
    """Their problems have no number (the files are not read again)."""
    _done_import(org, "旧.csv", [(2, "", False)])
    assert Code.SYNC_PENDING not in codes(find(org, number=number(6400, year=2025)))


def test_rejected_rows_are_one_indexed_query_whatever_the_imports_and_rows(
    org, django_assert_max_num_queries
):
    from fapiao.finder.diagnosis import RECENT_IMPORTS

    wanted = number(6500, year=2025)
    _done_import(org, "一.csv", [(2, wanted, False)])
    with CaptureQueriesContext(connection) as few:
        assert len(diagnosis(find(org, number=wanted), Code.SYNC_PENDING).evidence) == 1
    for i in range(RECENT_IMPORTS - 1):
        rows = [(r, number(7000 + i * 1000 + r, year=2025), r % 3 == 0) for r in range(2, 500)]
        _done_import(org, f"{i}.csv", [*rows, (600, wanted, False), (601, wanted, False)])
    with django_assert_max_num_queries(len(few.captured_queries)) as many:
        result = find(org, number=wanted)
    rejected = [d for d in result.diagnoses if d.code == Code.SYNC_PENDING]
    assert len(rejected) == RECENT_IMPORTS
    assert rejected[0].evidence == ["第 600 行 税额：税额不对", "第 601 行 税额：税额不对"]
    (sql,) = [q["sql"] for q in many.captured_queries if "imports_importproblem" in q["sql"]]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {sql}")
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
        plan = " ".join(str(line) for line in cursor.fetchall())
    assert "import_problem_number" in plan, plan


def test_field_queries_are_led_by_an_index(org):
    """Without a number: an amount excluding tax alone is looked for only in recent months
    (no index serves it); a date, a total, a tax ID or a name reaches any age."""
    old_day = TODAY - dt.timedelta(days=400)
    old = testing.invoice(
        seller=org, number=number(9100, year=2025), day=old_day, amount="777.00",
        buyer_name="杭州远山文具有限公司", buyer_tax_id="91330106MA2H00001X",
    )  # fmt: skip
    recent = testing.invoice(seller=org, number=number(9101), day=TODAY - dt.timedelta(days=9))
    recent.amount, recent.tax, recent.total = Decimal("888.00"), Decimal("0"), Decimal("888.00")
    recent.save()
    alone = find(org, amount=Decimal("777.00"), basis=Basis.AMOUNT)
    assert not alone.found and codes(alone) == [Code.NOT_ON_PLATFORM]
    assert "只查了" in alone.diagnoses[0].evidence[-1]
    assert find(org, amount=Decimal("888.00"), basis=Basis.AMOUNT).invoice == recent
    assert find(org, amount=Decimal("777.00"), date=old_day).invoice == old
    assert find(org, amount=old.total).invoice == old  # the total has its index
    assert find(org, amount=old.total, basis=Basis.TOTAL).invoice == old
    assert find(org, party="91330106MA2H00001X").invoice == old
    assert find(org, party="远山文具", amount=Decimal("777.00")).invoice == old
    # Another date: looked for near the date entered, not across the whole history.
    near = find(org, amount=old.total, date=old_day + dt.timedelta(days=20))
    assert diagnosis(near, Code.DATE_MISMATCH).candidates == [old.number]
    far = find(org, amount=old.total, date=old_day + dt.timedelta(days=200))
    assert Code.DATE_MISMATCH not in codes(far)
    # Other organizations' invoices are never among the answers.
    other = testing.organization()
    testing.invoice(seller=other, number=number(9102), day=TODAY - dt.timedelta(days=3))
    assert find(org, date=TODAY - dt.timedelta(days=3)).found is False
