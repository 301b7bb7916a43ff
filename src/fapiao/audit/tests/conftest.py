import datetime
from unittest import mock

import pytest
from django.utils import timezone

from fapiao.audit.services import event_record


@pytest.fixture
def record_at():
    """event_record, as if it ran at `when` (an aware datetime)."""

    def record(when: datetime.datetime, **kwargs):
        with mock.patch.object(timezone, "now", return_value=when):
            return event_record(**kwargs)

    return record
