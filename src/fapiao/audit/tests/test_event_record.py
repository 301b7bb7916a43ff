import itertools

import pytest

from fapiao import testing
from fapiao.accounts.models import Role
from fapiao.audit.events import EventCode
from fapiao.audit.models import PLATFORM_CHAIN, ChainHead, Event
from fapiao.audit.services import event_record

pytestmark = pytest.mark.django_db


def test_events_of_an_organization_are_numbered_and_linked_in_order():
    org = testing.organization()
    user = testing.member(org)
    events = [
        event_record(code=EventCode.ORG_UPDATED, actor=user, organization=org) for _ in range(4)
    ]

    assert [e.sequence for e in events] == [1, 2, 3, 4]
    assert {e.chain for e in events} == {f"org:{org.pk}"}
    assert events[0].prev_hash == "0" * 64
    for previous, event in itertools.pairwise(events):
        assert event.prev_hash == previous.hash
    for event in events:
        stored = Event.objects.get(pk=event.pk)
        assert stored.hash == stored.compute_hash() == event.hash
    head = ChainHead.objects.get(chain=f"org:{org.pk}")
    assert (head.sequence, head.hash) == (4, events[-1].hash)


def test_each_organization_has_its_own_chain():
    first, second = testing.organization(), testing.organization()
    a1 = event_record(code=EventCode.ORG_UPDATED, organization=first)
    b1 = event_record(code=EventCode.ORG_UPDATED, organization=second)
    a2 = event_record(code=EventCode.ORG_UPDATED, organization=first)

    assert (a1.chain, a1.sequence) == (f"org:{first.pk}", 1)
    assert (b1.chain, b1.sequence) == (f"org:{second.pk}", 1)
    assert (a2.chain, a2.sequence) == (f"org:{first.pk}", 2)
    assert b1.prev_hash == "0" * 64
    assert a2.prev_hash == a1.hash


def test_events_without_an_organization_go_to_the_platform_chain():
    org = testing.organization()
    user = testing.member(org)
    login = event_record(code=EventCode.ACCOUNT_LOGIN, actor=user)
    logout = event_record(code=EventCode.ACCOUNT_LOGOUT, actor=user)

    assert (login.chain, login.sequence, login.organization_id) == (PLATFORM_CHAIN, 1, None)
    assert (logout.chain, logout.sequence, logout.prev_hash) == (PLATFORM_CHAIN, 2, login.hash)
    assert login.actor_label == f"{user.name} <{user.email}>"


def test_description_defaults_to_the_codes_chinese_text_and_details_are_kept():
    org = testing.organization()
    event = event_record(
        code=EventCode.ORG_MEMBER_INVITED, organization=org, details={"email": "新@example.com"}
    )
    stored = Event.objects.get(pk=event.pk)
    assert stored.description == "邀请成员"
    assert stored.details == {"email": "新@example.com"}
    assert stored.compute_hash() == stored.hash


def test_the_object_is_recorded_by_type_id_and_label():
    org = testing.organization("北京对象有限公司")
    event = event_record(code=EventCode.ORG_UPDATED, organization=org, obj=org)
    assert (event.object_type, event.object_id, event.object_label) == (
        "organization",
        str(org.pk),
        "北京对象有限公司",
    )


def test_the_log_stays_chinese_when_the_actor_reads_english(client):
    """A user who chose English acts through the pages; the labels the log names (a role, a
    status) are written in Chinese all the same."""
    from django.utils import translation

    from fapiao.accounts.models import Membership
    from fapiao.accounts.services import invitation_create, language_set, member_role_change

    org = testing.organization("日志语言测试有限公司")
    admin = testing.member(org, Role.ADMIN)
    language_set(user=admin, language="en")
    client.force_login(admin)
    client.post(
        "/accounts/organization/members/invite/", {"email": "new@example.com", "role": "issuer"}
    )
    invited = Event.objects.get(code=EventCode.ORG_MEMBER_INVITED)
    assert invited.description == "邀请 new@example.com 加入（开票员）"

    other = testing.member(org, Role.VIEWER)
    membership = Membership.objects.get(user=other, organization=org)
    with translation.override("en"):
        member_role_change(actor=admin, membership=membership, role=Role.REVIEWER)
        invitation_create(actor=admin, organization=org, email="b@example.com", role=Role.ADMIN)
    changed = Event.objects.get(code=EventCode.ORG_MEMBER_ROLE_CHANGED)
    assert changed.description == f"{other} 的角色：查看者 → 审核员"
    assert Event.objects.filter(code=EventCode.ORG_MEMBER_INVITED).latest("id").description == (
        "邀请 b@example.com 加入（管理员）"
    )
