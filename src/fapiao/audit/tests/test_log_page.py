import datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from fapiao import testing
from fapiao.accounts.middleware import SESSION_KEY
from fapiao.accounts.models import Role
from fapiao.audit.events import EventCode
from fapiao.audit.services import event_record

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
URL = "/audit/"


@pytest.fixture(autouse=True)
def _shanghai_time(settings):
    settings.TIME_ZONE = "Asia/Shanghai"


@pytest.fixture
def org():
    return testing.organization("北京甲有限公司")


@pytest.fixture
def admin(org):
    return testing.member(org, Role.ADMIN)


@pytest.fixture
def other_org():
    return testing.organization("上海乙有限公司")


def descriptions(response) -> list[str]:
    return [event.description for event in response.context["page"]]


def test_url_names_resolve():
    assert reverse("audit_log") == URL
    assert reverse("audit_export") == "/audit/export.xlsx"
    assert reverse("audit_mine") == "/audit/mine/"


def test_admin_sees_only_their_organizations_events(client, org, admin, other_org):
    event_record(code=EventCode.ORG_UPDATED, actor=admin, organization=org, description="甲的事件")
    stranger = testing.member(other_org)
    event_record(
        code=EventCode.ORG_UPDATED, actor=stranger, organization=other_org, description="乙的事件"
    )
    event_record(code=EventCode.ACCOUNT_LOGIN, actor=admin, description="平台上的登录")

    client.force_login(admin)
    response = client.get(URL)
    assert response.status_code == 200
    assert descriptions(response) == ["甲的事件"]
    body = response.content.decode()
    for heading in ("时间", "操作人", "事件", "对象", "IP 地址"):
        assert f'<th scope="col">{heading}</th>' in body
    assert "乙的事件" not in body and "平台上的登录" not in body


def test_events_show_newest_first_with_actor_object_and_ip(client, org, admin):
    event_record(code=EventCode.ORG_CREATED, actor=admin, organization=org, obj=org)
    client.force_login(admin)
    client.get(reverse("audit_export"), REMOTE_ADDR="203.0.113.7")  # logged with the IP

    response = client.get(URL)
    assert descriptions(response) == ["导出操作记录", "创建组织"]
    body = response.content.decode()
    assert f"{admin.name} &lt;{admin.email}&gt;" in body
    assert "北京甲有限公司" in body
    assert '<td class="mono">203.0.113.7</td>' in body


def test_details_are_expandable_as_pretty_json(client, org, admin):
    event_record(
        code=EventCode.ORG_MEMBER_INVITED,
        actor=admin,
        organization=org,
        details={"email": "new@example.com", "role": "开票员"},
    )
    client.force_login(admin)
    body = client.get(URL).content.decode()
    assert "<details>" in body
    pretty = '{\n  "email": "new@example.com",\n  "role": "开票员"\n}'
    assert pretty.replace('"', "&quot;") in body


def test_descriptions_are_escaped(client, org, admin):
    event_record(
        code=EventCode.ORG_UPDATED, actor=admin, organization=org, description="<script>x</script>"
    )
    client.force_login(admin)
    body = client.get(URL).content.decode()
    assert "<script>x</script>" not in body and "&lt;script&gt;x&lt;/script&gt;" in body


def test_it_filters_by_person(client, org, admin):
    issuer = testing.member(org, Role.ISSUER)
    event_record(
        code=EventCode.ORG_UPDATED, actor=admin, organization=org, description="管理员做的"
    )
    event_record(
        code=EventCode.ORG_UPDATED, actor=issuer, organization=org, description="开票员做的"
    )
    client.force_login(admin)
    response = client.get(URL, {"actor": issuer.pk})
    assert descriptions(response) == ["开票员做的"]
    # Only the organization's members are offered.
    assert set(response.context["form"].fields["actor"].queryset) == {admin, issuer}


def test_it_filters_by_event_code_with_chinese_labels(client, org, admin):
    event_record(code=EventCode.ORG_UPDATED, actor=admin, organization=org)
    event_record(code=EventCode.ORG_MEMBER_INVITED, actor=admin, organization=org)
    client.force_login(admin)
    response = client.get(URL, {"code": "org.member_invited"})
    assert descriptions(response) == ["邀请成员"]
    assert '<option value="org.member_invited" selected>邀请成员</option>' in (
        response.content.decode()
    )


def test_it_filters_by_whole_days_in_beijing_time(client, org, admin, record_at):
    def at(day, hour, minute, text):
        when = datetime.datetime(2025, 3, day, hour, minute, tzinfo=SHANGHAI)
        record_at(when, code=EventCode.ORG_UPDATED, organization=org, description=text)

    at(4, 23, 59, "四日深夜")
    at(5, 0, 0, "五日零点")
    at(5, 23, 30, "五日深夜")  # 15:30 UTC
    at(6, 0, 30, "六日凌晨")  # still 5 March in UTC
    client.force_login(admin)

    response = client.get(URL, {"date_from": "2025-03-05", "date_to": "2025-03-05"})
    assert descriptions(response) == ["五日深夜", "五日零点"]
    assert descriptions(client.get(URL, {"date_from": "2025-03-06"})) == ["六日凌晨"]
    assert descriptions(client.get(URL, {"date_to": "2025-03-04"})) == ["四日深夜"]


def test_it_says_when_nothing_matches(client, org, admin):
    event_record(code=EventCode.ORG_UPDATED, actor=admin, organization=org)
    client.force_login(admin)
    response = client.get(URL, {"code": "org.member_removed"})
    assert "没有符合条件的操作记录。" in response.content.decode()


def test_a_bad_date_gives_a_message_not_an_error(client, org, admin):
    event_record(code=EventCode.ORG_UPDATED, actor=admin, organization=org)
    client.force_login(admin)
    response = client.get(URL, {"date_from": "2025-13-45", "code": "org.updated"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "筛选条件有误" in body
    assert response.context["form"].errors["date_from"]
    # The valid part of the filter still applies.
    assert descriptions(response) == ["修改组织信息"]


def test_an_end_date_before_the_start_date_is_explained(client, org, admin):
    client.force_login(admin)
    response = client.get(URL, {"date_from": "2025-03-05", "date_to": "2025-03-01"})
    assert response.status_code == 200
    assert "结束日期不能早于开始日期。" in response.content.decode()


def test_a_person_outside_the_organization_cannot_be_chosen(client, org, admin, other_org):
    stranger = testing.member(other_org)
    event_record(code=EventCode.ORG_UPDATED, actor=admin, organization=org)
    client.force_login(admin)
    response = client.get(URL, {"actor": stranger.pk})
    assert response.status_code == 200
    assert response.context["form"].errors["actor"]


def test_it_pages_fifty_events_and_keeps_the_filter_in_page_links(client, org, admin):
    for _ in range(55):
        event_record(code=EventCode.ORG_UPDATED, actor=admin, organization=org)
    event_record(code=EventCode.ORG_MEMBER_INVITED, actor=admin, organization=org)
    client.force_login(admin)

    first = client.get(URL, {"code": "org.updated"})
    assert len(first.context["page"]) == 50
    body = first.content.decode()
    assert 'href="?code=org.updated&amp;page=2"' in body
    assert "第 1 / 2 页，共 55 条" in body
    assert 'href="/audit/export.xlsx?code=org.updated"' in body

    second = client.get(URL, {"code": "org.updated", "page": "2"})
    assert len(second.context["page"]) == 5
    assert 'href="?code=org.updated&amp;page=1"' in second.content.decode()
    assert client.get(URL, {"page": "abc"}).status_code == 200


def test_a_viewer_is_refused(client, org):
    viewer = testing.member(org, Role.VIEWER)
    client.force_login(viewer)
    assert client.get(URL).status_code == 403


def test_a_user_of_another_organization_never_sees_its_events(client, org, admin, other_org):
    event_record(code=EventCode.ORG_UPDATED, actor=admin, organization=org, description="甲的事件")
    outsider = testing.member(other_org, Role.ADMIN)
    client.force_login(outsider)
    session = client.session
    session[SESSION_KEY] = org.pk  # tries to act for 甲
    session.save()

    response = client.get(URL, {"actor": admin.pk})
    assert response.status_code == 200
    assert response.context["current_organization"] == other_org
    assert "甲的事件" not in response.content.decode()
    assert list(response.context["page"]) == []


def test_a_user_without_an_organization_gets_404(client):
    loner = testing.member(testing.organization())
    loner.memberships.all().delete()
    client.force_login(loner)
    assert client.get(URL).status_code == 404


def test_anonymous_visitors_are_sent_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))
