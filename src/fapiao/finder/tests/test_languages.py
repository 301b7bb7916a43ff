"""The finder's diagnoses in the active language: Chinese (the source text, unchanged) and English,
with the values filled in; the codes and the JSON keys the same in both."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation

from fapiao import testing
from fapiao.finder import diagnosis as engine
from fapiao.finder.diagnosis import Code, FinderQuery, invoice_find
from fapiao.imports.models import ImportStatus, InvoiceImport
from fapiao.invoices.models import InvoiceStatus
from fapiao.rules import nearmatch, numbers
from fapiao.rules.regions import PLAN_CITIES, PROVINCES

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 6, 15)
DAY = dt.date(2026, 3, 2)


@pytest.fixture(autouse=True)
def _language_reset():
    """A request leaves its language active in the thread: the next test starts from the default."""
    yield
    translation.deactivate()


def number(serial: int, region: str = "11") -> str:
    return numbers.digital_number(2026, region, "2", serial)


def find(org, language: str, **fields):
    with translation.override(language):
        return invoice_find(organization=org, query=FinderQuery(**fields), today=TODAY)


def said(result, code: str) -> tuple[str, list[str], list[str]]:
    found = next(d for d in result.diagnoses if d.code == code)
    return found.message, found.evidence, [step.label for step in found.steps]


def test_a_near_match_names_the_digit_in_either_language(org):
    right = testing.invoice(seller=org, number=number(1234567), day=DAY)
    typed = right.number[:-1] + "0"
    assert said(find(org, "zh-hans", number=typed), Code.NEAR_MATCH)[:2] == (
        "没有这个号码，但有一张号码相近的发票：有一位数字输错。",
        [f"{right.number}：发票号码第 20 位：输入的是“0”，应为“7”"],
    )
    message, evidence, steps = said(find(org, "en", number=typed), Code.NEAR_MATCH)
    assert (
        message == "No invoice has this number, but one has a similar number: one digit mistyped."
    )
    assert evidence == [
        f"{right.number}: Invoice number: digit 20 was entered as “0” but should be “7”"
    ]
    assert steps[0] == "Request supplementary entry" and "Help" in steps


def test_near_matches_say_what_else_agrees_and_how_many_more(org):
    for serial in range(1230001, 1230009):
        testing.invoice(seller=org, number=number(serial), day=DAY, amount=f"{serial % 100}.00")
    query = {"number": number(1230000), "amount": Decimal("5.30")}
    zh = said(find(org, "zh-hans", **query), Code.NEAR_MATCH)
    assert zh[0] == "没有这个号码，但有 8 张号码相近的发票，最可能的排在前面。"
    assert zh[1][0] == f"{number(1230005)}：发票号码第 20 位：输入的是“0”，应为“5”；金额也对得上"
    assert zh[1][-1] == "另有 3 张，请补充开票日期或金额以缩小范围"
    en = said(find(org, "en", **query), Code.NEAR_MATCH)
    assert en[0] == (
        "No invoice has this number, but 8 invoices have similar numbers; "
        "the most likely are listed first."
    )
    assert en[1][0] == (
        f"{number(1230005)}: Invoice number: digit 20 was entered as “0” but should be “5”; "
        "the amount also matches"
    )
    assert (
        en[1][-1] == "3 more invoices not shown: add the issue date or amount to narrow the search"
    )


@pytest.mark.parametrize(
    ("region", "zh_message", "zh_evidence", "en_message", "en_evidence"),
    [
        (
            "31",
            "这是上海市开具的发票，数据在上海市税务局的系统中，不在北京的平台里。"
            "请在全国增值税发票查验平台或上海市电子税务局查验。",
            "号码第 3-4 位“31”是地区代码，表示上海市",
            "This invoice was issued in Shanghai: its data is in the Shanghai tax bureau’s system, "
            "not on the Beijing platform. Verify it on the national VAT invoice verification "
            "platform or on the Shanghai e-tax bureau.",
            "Digits 3–4 of the number, “31”, are the region code for Shanghai",
        ),
        (
            "92",
            "这是青岛市开具的发票，数据在青岛市税务局的系统（属山东省）中，不在北京的平台里。"
            "请在全国增值税发票查验平台或青岛市电子税务局查验。",
            "号码第 3-4 位“92”是地区代码，表示青岛市",
            "This invoice was issued in Qingdao: its data is in the Qingdao tax bureau’s system "
            "(part of Shandong), not on the Beijing platform. Verify it on the national VAT "
            "invoice verification platform or on the Qingdao e-tax bureau.",
            "Digits 3–4 of the number, “92”, are the region code for Qingdao",
        ),
    ],
)
def test_another_region_is_named_in_either_language(
    org, region, zh_message, zh_evidence, en_message, en_evidence
):
    wanted = number(1234, region=region)
    assert said(find(org, "zh-hans", number=wanted), Code.OTHER_REGION) == (
        zh_message,
        [zh_evidence],
        ["全国增值税发票查验平台"],
    )
    assert said(find(org, "en", number=wanted), Code.OTHER_REGION) == (
        en_message,
        [en_evidence],
        ["National VAT invoice verification platform"],
    )


def test_too_recent_gives_the_retry_date_in_either_language(org):
    zh = said(find(org, "zh-hans", number=number(4444), date=TODAY), Code.TOO_RECENT)
    assert zh[:2] == (
        "开票数据在开票次日才同步到平台，当天开具的发票暂时查不到：请于 2026-06-16 起再查。",
        ["您输入的开票日期：2026-06-15；今天：2026-06-15"],
    )
    en = said(find(org, "en", number=number(4444), date=TODAY), Code.TOO_RECENT)
    assert en[:2] == (
        "Invoice data reaches the platform only on the day after issue, so an invoice issued "
        "today can’t be found yet: search again from 2026-06-16.",
        ["Issue date you entered: 2026-06-15; today: 2026-06-15"],
    )
    lagging = said(find(org, "en", number=number(4448), date=DAY.replace(month=6, day=14)),
                   Code.TOO_RECENT)  # fmt: skip
    assert "search again on 2026-06-16." in lagging[0]


def test_voided_in_either_language(org):
    invoice = testing.invoice(seller=org, number=number(70), day=DAY, status=InvoiceStatus.VOIDED)
    assert said(find(org, "zh-hans", number=invoice.number), Code.VOIDED) == (
        "这张发票已作废：作废的发票不能再查验、报销或抵扣，请向开票方索取新开的发票。",
        ["发票状态：作废"],
        ["查看这张发票"],
    )
    assert said(find(org, "en", number=invoice.number), Code.VOIDED) == (
        "This invoice has been voided: a voided invoice can no longer be verified, claimed as an "
        "expense or used for an input tax credit. Ask the issuer for a newly issued invoice.",
        ["Invoice status: Voided"],
        ["View this invoice"],
    )


def test_not_visible_in_either_language(org):
    theirs = testing.invoice(
        seller=testing.organization(), buyer=testing.organization(), number=number(8000), day=DAY
    )
    assert said(find(org, "zh-hans", number=theirs.number), Code.NOT_VISIBLE)[:2] == (
        "平台上有这个号码的发票，但贵单位既不是它的销售方也不是购买方，因此无法显示。"
        "如确属贵单位，请让开票方核对购买方信息，或联系平台客服。",
        ["按发票代码和号码查到了记录；其内容不向贵单位显示"],
    )
    assert said(find(org, "en", number=theirs.number), Code.NOT_VISIBLE)[:2] == (
        "An invoice with this number is on the platform, but your company is neither its seller "
        "nor its buyer, so it can’t be shown. If it really is your company’s, ask the issuer to "
        "check the buyer details, or contact platform support.",
        ["A record was found for this invoice code and number; its contents are not shown to "
         "your company"],
    )  # fmt: skip


def test_an_import_in_progress_in_either_language(org):
    job = InvoiceImport.objects.create(
        organization=org, file_name="二月.csv", file_format="csv", status=ImportStatus.RUNNING,
        rows=100, rows_done=40, progress_at=timezone.now(),
    )  # fmt: skip
    when = f"{timezone.localtime(job.created_at):%Y-%m-%d %H:%M}"
    assert said(find(org, "zh-hans", number=number(5000)), Code.SYNC_PENDING) == (
        "贵单位的批量导入“二月.csv”正在进行（40%），这张发票可能还没导入：导入完成后再查。",
        [f"批量导入 #{job.pk}，状态：导入中，提交于 {when}"],
        ["查看这次导入"],
    )
    message, evidence, steps = said(find(org, "en", number=number(5000)), Code.SYNC_PENDING)
    assert message == (
        "Your company’s bulk import “二月.csv” is in progress (40%), and this invoice may not "
        "have been imported yet: search again once the import is complete."
    )
    with translation.override("en"):
        status = str(ImportStatus.RUNNING.label)
    assert status != "导入中"
    assert evidence == [f"Bulk import #{job.pk}, status: {status}, submitted {when}"]
    assert steps == ["View this import"]


def test_codes_and_json_keys_do_not_depend_on_the_language(org):
    right = testing.invoice(seller=org, number=number(1234567), day=DAY)
    typed = right.number[:-1] + "0"
    zh, en = (find(org, language, number=typed).as_dict() for language in ("zh-hans", "en"))
    assert [d["code"] for d in zh["diagnoses"]] == [d["code"] for d in en["diagnoses"]]
    assert [set(d) for d in zh["diagnoses"]] == [set(d) for d in en["diagnoses"]]
    assert [d["candidates"] for d in zh["diagnoses"]] == [d["candidates"] for d in en["diagnoses"]]
    assert set(zh) == set(en) == {"found", "invoice", "diagnoses"}


def test_the_default_language_is_chinese(org):
    assert settings.LANGUAGE_CODE == "zh-hans"
    result = invoice_find(organization=org, query=FinderQuery(number=number(9999)), today=TODAY)
    assert result.diagnoses[0].message == (
        "平台上没有这张发票，也没有号码相近的发票。可能是开票方离线开具后未上传，"
        "或数据在迁移中遗漏：请核对号码，或申请补录。"
    )


# --- the translatable copies of fapiao.rules' Chinese stay equal to it ---------------------------


def test_pattern_labels_are_the_rules_labels():
    with translation.override("zh-hans"):
        assert {k: str(v) for k, v in engine.PATTERN_LABELS.items()} == nearmatch.LABELS
    with translation.override("en"):
        assert all(str(v) != nearmatch.LABELS[k] for k, v in engine.PATTERN_LABELS.items())


@pytest.mark.parametrize(
    "entered",
    [
        "25112000000012345679",
        "25112000000012345687",
        "2511200000001234568",
        "251120000000123456789",
        "25112000000O12345678",
        "25112000000O1234567B",
        "99999",
    ],
)
def test_the_difference_is_described_as_the_rules_describe_it(entered):
    stored = "25112000000012345678"
    with translation.override("zh-hans"):
        assert engine._difference(entered, stored) == nearmatch.describe(entered, stored)


def test_every_region_name_is_translated():
    names = {r.name for r in PROVINCES.values()} | {r.name for r in PLAN_CITIES.values()}
    assert names == set(engine.REGION_NAMES)
    with translation.override("en"):
        untranslated = [name for name in names if engine._region(name) == name]
    assert untranslated == []


# --- the page ------------------------------------------------------------------------------------


def test_the_page_explains_in_english_when_the_user_chose_english(client, org, admin):
    right = testing.invoice(seller=org, number=number(1234567), day=dt.date.today())
    typed = right.number[:-1] + "0"
    client.force_login(admin)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    body = client.get(reverse("finder"), {"number": typed}).content.decode()
    assert '<html lang="en">' in body and 'data-diagnosis="near_match"' in body
    assert "No invoice has this number, but one has a similar number: one digit mistyped." in body
    # The proposal's line of evidence is its row in the table, not said twice.
    row = body.split(f'data-proposal="{right.number}"')[1].split("</tr>")[0]
    assert "Invoice number: digit 20 was entered as “0” but should be “7”" in row
    assert f"{right.number}: Invoice number" not in body
    for chinese in ("没有这个号码", "发票号码第", "申请补录", "帮助"):
        assert chinese not in body

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    body = client.get(reverse("finder"), {"number": typed}).content.decode()
    assert "没有这个号码，但有一张号码相近的发票：有一位数字输错。" in body
    assert "No invoice has this number" not in body


def test_the_page_in_english_lists_what_agrees(client, org, admin):
    day = dt.date.today() - dt.timedelta(days=20)
    right = testing.invoice(seller=org, number=number(1234567), day=day, amount="100.00")
    client.force_login(admin)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    query = {"number": right.number[:-1] + "0", "date": day.isoformat(), "amount": "106.00"}
    body = client.get(reverse("finder"), query).content.decode()
    row = body.split(f'data-proposal="{right.number}"')[1].split("</tr>")[0]
    assert "Matches: issue date and amount" in row


def test_the_command_answers_in_chinese_with_the_same_keys(org):
    import io

    from django.core.management import call_command

    out = io.StringIO()
    call_command("find", "--org", org.tax_id, "--number", number(9999), "--json", stdout=out)
    answer = json.loads(out.getvalue())
    assert set(answer["diagnoses"][0]) == {"code", "message", "evidence", "candidates"}
    assert answer["diagnoses"][0]["code"] == "not_on_platform"
    assert answer["diagnoses"][0]["message"].startswith("平台上没有这张发票")
