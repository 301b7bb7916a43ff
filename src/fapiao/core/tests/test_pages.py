import datetime
from decimal import Decimal
from unittest import mock

import pytest
from django.db import DatabaseError
from django.urls import reverse

from fapiao import testing
from fapiao.accounts.models import Role
from fapiao.invoices.models import InvoiceStatus

pytestmark = pytest.mark.django_db


def test_anonymous_home_is_the_welcome_page_with_login(client):
    response = client.get("/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "<title>欢迎 · 发票平台</title>" in body
    assert reverse("account_login") in body
    assert 'data-nav="help"' in body


def test_navigation_lists_only_working_modules(client):
    body = client.get("/").content.decode()
    # Each nav entry resolves to a page that answers 200.
    import re

    links = re.findall(r'<a href="([^"]+)"[^>]*data-nav="(\w+)"', body)
    assert {key for _, key in links} == {"home", "help"}
    for url, _ in links:
        assert client.get(url).status_code == 200


def test_help_page_explains_invoice_numbers(client):
    body = client.get(reverse("help")).content.decode()
    assert "数电发票" in body and "发票代码" in body


def test_help_leads_a_member_to_the_finder_recovery_and_reconciliation(client):
    assert reverse("finder") not in client.get(reverse("help")).content.decode()  # anonymous
    client.force_login(testing.member(testing.organization(), Role.VIEWER))
    body = client.get(reverse("help")).content.decode()
    for name in ("finder", "recovery_list", "reconcile_list"):
        assert f'href="{reverse(name)}"' in body, name


def test_dashboard_shows_the_current_organizations_figures(client):
    org = testing.organization("北京甲有限公司")
    other = testing.organization("北京乙有限公司")
    user = testing.member(org, Role.VIEWER)
    today = datetime.date.today()
    testing.invoice(seller=org, amount="1000.00", rate="0.13", day=today)
    testing.invoice(seller=org, amount="200.00", rate="0.06", day=today)
    testing.invoice(seller=other, buyer=org, amount="50.00", day=today)
    testing.invoice(seller=other, amount="99999.00", day=today, buyer_name="第三方某某公司")

    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 200
    summary = response.context["summary"]
    assert summary.issued_this_month.count == 2
    assert summary.issued_this_month.total == Decimal("1130.00") + Decimal("212.00")
    assert summary.received_this_month.count == 1
    assert summary.received_this_month.total == Decimal("53.00")
    body = response.content.decode()
    assert "北京甲有限公司" in body
    assert "1,342.00" in body
    # Another organization's invoice with a third party never shows.
    assert "第三方某某公司" not in body and "99,999" not in body


def test_dashboard_twelve_month_series_and_status_counts(client):
    org = testing.organization()
    user = testing.member(org)
    today = datetime.date.today()
    old = today.replace(day=1) - datetime.timedelta(days=40)
    testing.invoice(seller=org, amount="100.00", day=old, status=InvoiceStatus.FULLY_RED)
    testing.invoice(seller=org, amount="300.00", day=today)
    client.force_login(user)
    summary = client.get("/").context["summary"]
    assert len(summary.months) == 12
    assert summary.months[-1].month == today.replace(day=1)
    assert summary.months[-1].share == 100
    assert dict(summary.status_counts) == {"正常": 1, "全额红冲": 1}


def test_user_without_organization_sees_welcome_not_someone_elses_dashboard(client):
    testing.invoice(seller=testing.organization(), amount="10.00")
    from fapiao.accounts.models import User

    loner = User.objects.create_user(email="loner@example.com", password=testing.PASSWORD)
    client.force_login(loner)
    response = client.get("/")
    assert "summary" not in response.context
    assert "core/welcome.html" in [t.name for t in response.templates]


def test_health_reports_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "ok" and data["database"]["ok"] is True
    assert response["Cache-Control"].startswith("max-age=0")


def test_health_is_503_when_the_database_fails(client):
    with mock.patch("fapiao.core.views.connection") as conn:
        conn.cursor.side_effect = DatabaseError("down")
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"]["ok"] is False


def test_unknown_page_is_a_friendly_404_in_chinese(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    body = response.content.decode()
    assert "页面不存在" in body and reverse("home") in body


def test_server_error_page_needs_no_context(rf):
    from fapiao.core.views import server_error

    response = server_error(rf.get("/"))
    assert response.status_code == 500
    assert "服务暂时不可用" in response.content.decode()


def test_permission_denied_page(rf):
    from django.contrib.auth.models import AnonymousUser

    from fapiao.core.views import permission_denied

    request = rf.get("/")
    request.user = AnonymousUser()
    request.organization = None
    response = permission_denied(request, None)
    assert response.status_code == 403 and "无权访问" in response.content.decode()


def test_english_switch_translates_the_shell(client):
    response = client.post(reverse("set_language"), {"language": "en", "next": "/help/"})
    assert response.status_code == 302
    body = client.get("/help/").content.decode()
    assert '<html lang="en">' in body
    assert ">Help<" in body and "Invoice Platform" in body


def test_only_get_and_head_on_pages(client):
    assert client.post("/").status_code == 405
    assert client.post("/healthz").status_code == 405


def test_dashboard_leaves_voided_out_and_counts_red_invoices_apart(client):
    org = testing.organization()
    user = testing.member(org)
    today = datetime.date.today()
    blue = testing.invoice(seller=org, amount="1000.00", rate="0.13", day=today,
                           status=InvoiceStatus.FULLY_RED)  # fmt: skip
    testing.invoice(seller=org, amount="-1000.00", rate="0.13", day=today, is_red=True,
                    original=blue)  # fmt: skip
    testing.invoice(seller=org, amount="500.00", rate="0.13", day=today,
                    type_code="04", code="011001900104", number="00000009",
                    status=InvoiceStatus.VOIDED)  # fmt: skip
    testing.invoice(seller=org, amount="200.00", rate="0.06", day=today)
    client.force_login(user)
    summary = client.get("/").context["summary"]
    assert summary.issued_this_month.count == 2  # the blue invoices, not the red one
    assert summary.issued_this_month.total == Decimal("212.00")  # 1130 − 1130 + 212; void left out
    assert dict(summary.status_counts) == {"正常": 1, "作废": 1, "全额红冲": 1, "红字发票": 1}
    assert summary.issued_all_time == 2  # blue and not voided: the red-lettered one and 200.00


def test_month_boundaries_belong_to_their_own_month(client):
    org = testing.organization()
    user = testing.member(org)
    today = datetime.date.today()
    first = today.replace(day=1)
    testing.invoice(seller=org, amount="100.00", day=first)
    testing.invoice(seller=org, amount="300.00", day=first - datetime.timedelta(days=1))
    client.force_login(user)
    summary = client.get("/").context["summary"]
    assert summary.issued_this_month.total == Decimal("106.00")
    assert summary.issued_last_month.total == Decimal("318.00")
    assert summary.months[-2].total == Decimal("318.00")


def test_a_stale_organization_in_the_session_is_ignored(client):
    mine, theirs = (
        testing.organization("我的单位有限公司"),
        testing.organization("别人单位有限公司"),
    )
    user = testing.member(mine)
    client.force_login(user)
    session = client.session
    session["fapiao_organization_id"] = theirs.pk
    session.save()
    assert client.get("/").context["current_organization"] == mine
