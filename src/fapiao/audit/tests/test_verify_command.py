import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from fapiao import testing
from fapiao.audit.events import EventCode
from fapiao.audit.models import Event
from fapiao.audit.services import event_record

pytestmark = pytest.mark.django_db


def verify(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("audit", "verify", *args, stdout=out, stderr=err)
    except CommandError as exc:
        raise CommandError(f"{exc}\n{err.getvalue()}") from exc
    return out.getvalue(), err.getvalue()


def tamper(sql: str, params: list) -> None:
    """Change the log behind the application's back; undone with the test's transaction."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # ALTER TABLE waits for no deferred foreign-key checks: run them now.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_update")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        else:
            cursor.execute("DROP TRIGGER audit_event_no_update")
        cursor.execute(sql, params)


@pytest.fixture
def org():
    return testing.organization()


@pytest.fixture
def events(org):
    user = testing.member(org)
    event_record(code=EventCode.ACCOUNT_LOGIN, actor=user)
    return [
        event_record(code=EventCode.ORG_UPDATED, actor=user, organization=org) for _ in range(3)
    ]


def test_it_passes_on_an_intact_log(events):
    out, err = verify()
    assert "校验通过：2 条记录链，共 4 条记录" in out
    assert err == ""


def test_it_checks_one_organization_by_its_tax_id(org, events):
    out, _ = verify("--org", org.tax_id.lower())
    assert "校验通过：1 条记录链，共 3 条记录" in out


def test_it_refuses_an_unknown_tax_id(events):
    with pytest.raises(CommandError, match="找不到统一社会信用代码"):
        verify("--org", "91110108MA00000000")


def test_it_names_the_event_whose_content_was_altered(org, events):
    tamper("UPDATE audit_event SET description = %s WHERE id = %s", ["无关紧要", events[1].pk])
    with pytest.raises(CommandError) as failed:
        verify()
    message = str(failed.value)
    assert "校验失败：1 条记录链有断点" in message
    assert f"记录链 org:{org.pk} 第 2 条（事件 id={events[1].pk}）" in message
    assert "内容与哈希不符" in message


def test_it_notices_an_altered_event_even_when_its_hash_was_recomputed(org, events):
    forged = Event.objects.get(pk=events[1].pk)
    forged.description = "无关紧要"
    tamper(
        "UPDATE audit_event SET description = %s, hash = %s WHERE id = %s",
        [forged.description, forged.compute_hash(), forged.pk],
    )
    with pytest.raises(CommandError) as failed:
        verify("--org", org.tax_id)
    # The next event still links to the original hash.
    message = str(failed.value)
    assert f"记录链 org:{org.pk} 第 3 条（事件 id={events[2].pk}）" in message
    assert "与前一条记录的链接不符" in message


def test_it_names_the_gap_left_by_a_deleted_event(org, events):
    tamper("DELETE FROM audit_event WHERE id = %s", [events[1].pk])
    with pytest.raises(CommandError) as failed:
        verify()
    message = str(failed.value)
    assert f"记录链 org:{org.pk} 第 2 条" in message
    assert "缺少第 2 条记录" in message


def test_it_notices_that_the_last_event_was_deleted(org, events):
    tamper("DELETE FROM audit_event WHERE id = %s", [events[-1].pk])
    with pytest.raises(CommandError) as failed:
        verify()
    message = str(failed.value)
    assert f"记录链 org:{org.pk} 第 3 条" in message
    assert "链尾应有 3 条记录，实际只有 2 条" in message


def test_a_broken_chain_does_not_hide_the_others(org, events):
    other = testing.organization()
    event_record(code=EventCode.ORG_UPDATED, organization=other)
    tamper("DELETE FROM audit_event WHERE id = %s", [events[0].pk])
    with pytest.raises(CommandError) as failed:
        verify()
    message = str(failed.value)
    assert "校验失败：1 条记录链有断点" in message
    assert f"org:{org.pk}" in message and f"org:{other.pk}" not in message
