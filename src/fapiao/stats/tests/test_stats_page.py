import json
import re

import pytest
from django.contrib.auth import get_user_model

from fapiao import testing
from fapiao.accounts.models import Role

pytestmark = pytest.mark.django_db

URL = "/stats/"


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _table(body: str, key: str) -> str:
    match = re.search(rf'<table[^>]*id="table-{key}".*?</table>', body, re.S)
    assert match, key
    return _text(match.group())


def _charts(body: str) -> dict:
    match = re.search(r'<script id="stats-charts" type="application/json">(.*?)</script>', body)
    return json.loads(match.group(1))


def test_it_shows_the_years_figures_with_thousands_separated(client, admin):
    client.force_login(admin)
    response = client.get(URL, {"year": "2025"})
    assert response.status_code == 200
    body = response.content.decode()
    kpis = dict(re.findall(r'data-kpi="(\w+)">([^<]+)<', body))
    assert kpis == {"count": "6 ", "amount": "¥1,850.00", "tax": "¥203.50", "total": "¥2,053.50"}
    month = _table(body, "month")
    assert "2025年6月 1 0 1,100.00 136.00 1,236.00" in month
    assert "2025年4月 0 1 -500.00 -65.00 -565.00" in month
    assert "合计 6 1 1,850.00 203.50 2,053.50" in month
    # Every view has a chart container and a table beside it.
    for key in ("month", "sides", "comparison", "type", "rate", "customers", "suppliers", "status"):
        assert f'data-chart="{key}"' in body and f'id="table-{key}"' in body, key
    assert "+" not in _table(body, "type")  # shares are not changes
    charts = _charts(body)
    assert charts["month"]["total"][5] == 1236.0
    assert charts["customers"]["categories"][0] == "北京客户X科技有限公司"
    assert "vendor/echarts/echarts.min.js" in body and "cdn" not in body.lower()


def test_it_filters_by_direction_and_period(client, admin):
    client.force_login(admin)
    body = client.get(URL, {"year": "2025", "direction": "issued", "by": "quarter"}).content
    body = body.decode()
    assert 'data-kpi="total">¥1,551.00<' in body
    quarter = _table(body, "quarter")
    assert "2025年第2季度 1 1 600.00 71.00 671.00" in quarter
    assert 'id="table-suppliers"' not in body  # only the customers of issued invoices
    assert "2025年第1季度 2 700.00 77.00 777.00 1 400.00 52.00 452.00" in _table(body, "sides")


def test_the_yearly_view_lists_every_year(client, admin):
    client.force_login(admin)
    body = client.get(URL, {"year": "2025", "by": "year", "direction": "issued"}).content.decode()
    year = _table(body, "year")
    assert "2024年 1 0 1,000.00 130.00 1,130.00" in year
    assert "2025年 4 1 1,400.00 151.00 1,551.00" in year


def test_a_date_range_replaces_the_year(client, admin):
    client.force_login(admin)
    response = client.get(URL, {"year": "2025", "date_from": "2024-12-01", "date_to": "2025-01-31"})
    body = response.content.decode()
    assert "2024-12-01 至 2025-01-31" in body
    month = _table(body, "month")
    assert "2024年12月 1 0 1,000.00 130.00 1,130.00" in month
    assert "2025年1月 2 0 600.00 64.00 664.00" in month
    assert "2025年2月" not in month
    # The comparison is about the range's last month.
    assert "本月 2025年1月" in _table(body, "comparison")


def test_the_comparison_shows_changes_in_percent(client, admin):
    client.force_login(admin)
    body = client.get(URL, {"year": "2025", "direction": "issued"}).content.decode()
    comparison = _table(body, "comparison")
    # A past year's comparison is about its December: 103.00 against 1,130.00 a year before.
    assert "本月 2025年12月 上月 2025年11月 环比 去年同月 2024年12月 同比" in comparison
    assert "价税合计 103.00 0.00 — 1,130.00 -90.9%" in comparison


def test_bad_choices_are_ignored_with_a_message(client, admin):
    client.force_login(admin)
    response = client.get(URL, {"year": "abc", "direction": "sideways", "date_from": "2025-13-01"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "筛选条件有误" in body
    assert 'value="both" checked' in body
    response = client.get(URL, {"date_from": "2025-05-01", "date_to": "2025-04-01"})
    assert "结束日期不能早于开始日期" in response.content.decode()


def test_a_viewer_may_see_the_statistics(client, org):
    client.force_login(testing.member(org, Role.VIEWER))
    assert client.get(URL).status_code == 200


def test_it_validates_ownership(client, book):
    """Another organization's member sees only that organization's figures."""
    client.force_login(testing.member(book["other"], Role.ADMIN))
    body = client.get(URL, {"year": "2025"}).content.decode()
    assert 'data-kpi="total">¥28,263.84<' in body
    for name in ("北京客户X科技有限公司", "上海供应商S1物流有限公司", "张三", "1,850.00"):
        assert name not in body, name


def test_a_user_without_an_organization_gets_404(client, book):
    loner = get_user_model().objects.create_user(email="loner@example.com", password="x-Y-z-123")
    client.force_login(loner)
    assert client.get(URL).status_code == 404
    assert client.get("/stats/export", {"format": "xlsx"}).status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_navigation_links_the_page(client, admin):
    client.force_login(admin)
    body = client.get("/").content.decode()
    assert 'href="/stats/"' in body and 'data-nav="stats"' in body
