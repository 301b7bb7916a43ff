"""In-site notices: sent to one user, seen and read by that user alone, counted in the top bar."""

import pytest
from django.urls import reverse

from fapiao import testing
from fapiao.notices.models import Notice
from fapiao.notices.selectors import unread_count
from fapiao.notices.services import notice_read_all, notice_send

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice():
    return testing.member(testing.organization())


@pytest.fixture
def bob():
    return testing.member(testing.organization())


def test_it_sends_a_notice_with_a_site_link_only(alice):
    notice = notice_send(user=alice, title="补录申请已通过", body="发票已记录", link="/recovery/1/")
    assert (notice.title, notice.link, notice.read_at) == ("补录申请已通过", "/recovery/1/", None)
    for outside in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)"):
        assert notice_send(user=alice, title="x", link=outside).link == ""


def test_the_list_shows_only_the_users_notices(client, alice, bob):
    notice_send(user=alice, title="给甲的消息")
    notice_send(user=bob, title="给乙的消息")
    client.force_login(alice)
    body = client.get(reverse("notice_list")).content.decode()
    assert "给甲的消息" in body and "给乙的消息" not in body


def test_the_top_bar_counts_unread_notices(client, alice):
    client.force_login(alice)
    assert 'data-unread="0"' in client.get(reverse("profile")).content.decode()
    notice_send(user=alice, title="一")
    notice_send(user=alice, title="二")
    body = client.get(reverse("profile")).content.decode()
    assert 'data-unread="2"' in body and '<span class="unread-count">2</span>' in body


def test_opening_marks_read_and_follows_the_link(client, alice):
    notice = notice_send(user=alice, title="一", link="/recovery/")
    client.force_login(alice)
    response = client.post(reverse("notice_open", args=[notice.pk]), {"follow": "1"})
    assert response["Location"] == "/recovery/"
    notice.refresh_from_db()
    assert notice.read_at is not None and unread_count(user=alice) == 0


def test_another_users_notice_is_404_and_stays_unread(client, alice, bob):
    notice = notice_send(user=alice, title="一")
    client.force_login(bob)
    assert client.post(reverse("notice_open", args=[notice.pk])).status_code == 404
    notice.refresh_from_db()
    assert notice.read_at is None


def test_mark_all_read_touches_only_the_users_notices(client, alice, bob):
    for title in ("一", "二"):
        notice_send(user=alice, title=title)
    notice_send(user=bob, title="三")
    client.force_login(alice)
    client.post(reverse("notice_read_all"))
    assert unread_count(user=alice) == 0 and unread_count(user=bob) == 1
    assert notice_read_all(user=bob) == 1


def test_the_unread_filter(client, alice):
    read = notice_send(user=alice, title="已读的")
    notice_send(user=alice, title="未读的")
    Notice.objects.filter(pk=read.pk).update(read_at="2026-01-01T00:00:00Z")
    client.force_login(alice)
    body = client.get(reverse("notice_list") + "?show=unread").content.decode()
    assert "未读的" in body and "已读的" not in body


def test_anonymous_visitors_are_sent_to_login(client):
    for name in ("notice_list", "notice_read_all"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
