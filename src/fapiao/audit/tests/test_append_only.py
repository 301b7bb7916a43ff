import pytest
from django.db import DatabaseError, connection, transaction

from fapiao import testing
from fapiao.audit.events import EventCode
from fapiao.audit.models import AppendOnlyError, Event
from fapiao.audit.services import event_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def event():
    return event_record(code=EventCode.ORG_UPDATED, organization=testing.organization())


def test_saving_an_existing_event_is_refused(event):
    event.description = "改过的描述"
    with pytest.raises(AppendOnlyError):
        event.save()
    assert Event.objects.get(pk=event.pk).description == "修改组织信息"


def test_deleting_an_event_is_refused(event):
    with pytest.raises(AppendOnlyError):
        event.delete()
    assert Event.objects.filter(pk=event.pk).exists()


def test_queryset_update_is_refused(event):
    with pytest.raises(AppendOnlyError):
        Event.objects.filter(pk=event.pk).update(description="改过的描述")
    assert Event.objects.get(pk=event.pk).description == "修改组织信息"


def test_queryset_delete_is_refused(event):
    with pytest.raises(AppendOnlyError):
        Event.objects.filter(pk=event.pk).delete()
    assert Event.objects.filter(pk=event.pk).exists()


def test_the_database_refuses_a_raw_update(event):
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "UPDATE audit_event SET description = %s WHERE id = %s", ["改过的描述", event.pk]
        )
    assert Event.objects.get(pk=event.pk).description == "修改组织信息"
