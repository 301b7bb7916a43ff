import pytest
from django.urls import reverse

from fapiao import testing
from fapiao.accounts.models import Membership, Role
from fapiao.audit.events import EventCode
from fapiao.audit.models import Event
from fapiao.audit.services import event_record

pytestmark = pytest.mark.django_db

URL = "/audit/mine/"


def own(response) -> list[str]:
    """The page's events, leaving out the logins that signing the test client in records."""
    return [e.description for e in response.context["page"] if e.code != EventCode.ACCOUNT_LOGIN]


def test_it_lists_only_the_users_own_actions_everywhere(client):
    first, second = testing.organization("北京甲有限公司"), testing.organization("上海乙有限公司")
    user = testing.member(first, Role.VIEWER)
    Membership.objects.create(user=user, organization=second, role=Role.ISSUER)
    colleague = testing.member(first)
    event_record(code=EventCode.ACCOUNT_PROFILE_UPDATED, actor=user, description="我改资料")
    event_record(code=EventCode.ORG_UPDATED, actor=user, organization=first, description="我在甲")
    event_record(code=EventCode.ORG_UPDATED, actor=user, organization=second, description="我在乙")
    event_record(
        code=EventCode.ORG_UPDATED, actor=colleague, organization=first, description="同事"
    )
    event_record(code=EventCode.ORG_UPDATED, organization=first, description="系统")

    client.force_login(user)
    response = client.get(URL)
    assert response.status_code == 200
    assert own(response) == ["我在乙", "我在甲", "我改资料"]
    assert {e.actor for e in response.context["page"]} == {user}
    body = response.content.decode()
    assert "上海乙有限公司" in body and "平台" in body
    assert "同事" not in body
    # A viewer may not see the organization's whole log, so it is not offered.
    assert 'data-action="org-log"' not in body


def test_an_admin_is_pointed_to_the_organizations_log(client):
    org = testing.organization("北京甲有限公司")
    client.force_login(testing.member(org, Role.ADMIN))
    body = client.get(URL).content.decode()
    assert f'href="{reverse("audit_log")}" data-action="org-log"' in body
    assert "北京甲有限公司的操作记录" in body


def test_it_needs_no_organization(client):
    user = testing.member(testing.organization())
    event_record(code=EventCode.ACCOUNT_PROFILE_UPDATED, actor=user)
    user.memberships.all().delete()
    client.force_login(user)
    response = client.get(URL)
    assert response.status_code == 200
    assert response.context["current_organization"] is None
    assert own(response) == ["修改个人资料"]


def test_it_pages_fifty_events(client):
    user = testing.member(testing.organization())
    client.force_login(user)
    for _ in range(51):
        event_record(code=EventCode.ACCOUNT_PROFILE_UPDATED, actor=user)
    total = Event.objects.filter(actor=user).count()
    response = client.get(URL)
    assert len(response.context["page"]) == 50
    body = response.content.decode()
    assert f"第 1 / 2 页，共 {total} 条" in body and 'href="?page=2"' in body
    assert len(client.get(URL, {"page": 2}).context["page"]) == total - 50


def test_anonymous_visitors_are_sent_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_the_navigation_offers_the_log_to_members_only(client):
    assert 'data-nav="audit"' not in client.get("/").content.decode()
    client.force_login(testing.member(testing.organization(), Role.VIEWER))
    body = client.get("/").content.decode()
    assert f'<a href="{URL}" data-nav="audit">操作记录</a>' in body
