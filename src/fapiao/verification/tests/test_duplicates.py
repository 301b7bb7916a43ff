"""查重: an invoice the organization verified or claimed before is flagged with a link to the
earlier record; a claim (报销登记) is unique per organization and invoice in the database."""

import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from fapiao import testing
from fapiao.accounts.models import Role
from fapiao.audit.models import Event
from fapiao.verification import services
from fapiao.verification.models import Claim, Verification
from fapiao.verification.tests.helpers import URLS, digital_invoice, org_with_member, pdf_of

pytestmark = [pytest.mark.django_db, pytest.mark.urls(URLS)]


@pytest.fixture
def me(client):
    org, user = org_with_member(Role.ISSUER)
    client.force_login(user)
    return org


def last() -> Verification:
    return Verification.objects.order_by("-id").first()


def by_fields(client, invoice):
    client.post(
        reverse("verify_fields"),
        {"number": invoice.number, "issue_date": invoice.issue_date, "total": invoice.total},
    )
    return last()


def test_the_second_verification_is_flagged_with_a_link_to_the_first(client, me):
    invoice = digital_invoice(buyer=me)
    first = by_fields(client, invoice)
    page = client.get(reverse("verification_detail", args=[first.pk])).content.decode()
    assert "data-duplicate" not in page
    # The same invoice again, now as a file: same key (the number, for 数电).
    client.post(reverse("verify_file"), {"file": SimpleUploadedFile("a.pdf", pdf_of(invoice))})
    second = last()
    assert second.source == "file" and second.duplicate_of == first
    page = client.get(reverse("verification_detail", args=[second.pk])).content.decode()
    assert "查重提示" in page and f'data-earlier="{first.pk}"' in page


def test_another_organization_verifying_the_same_invoice_is_no_duplicate(client, me):
    invoice = digital_invoice(buyer=me)
    by_fields(client, invoice)
    _, other = org_with_member()
    client.force_login(other)
    assert by_fields(client, invoice).duplicate_of is None


def test_legacy_keys_are_code_and_number(client, me):
    a = testing.invoice(
        buyer=me,
        type_code="04",
        code="011001900104",
        number="00001234",
        check_code="12345678901234567890",
        source="imported",
        day=digital_invoice(buyer=me).issue_date,
    )
    b = testing.invoice(
        buyer=me,
        type_code="04",
        code="011001900105",
        number="00001234",
        check_code="12345678901234567890",
        source="imported",
        day=a.issue_date,
    )

    def check(invoice):
        client.post(
            reverse("verify_fields"),
            {
                "code": invoice.code,
                "number": invoice.number,
                "issue_date": invoice.issue_date,
                "check_code": "567890",
            },
        )
        return last()

    assert check(a).result == "match" and check(b).duplicate_of is None
    assert check(a).duplicate_of.code == "011001900104"


def test_a_claim_is_recorded_once_and_the_second_refused_with_a_link(client, me):
    invoice = digital_invoice(buyer=me)
    first = by_fields(client, invoice)
    response = client.post(reverse("verification_claim", args=[first.pk]), {"note": "BX-001"})
    assert response.status_code == 302
    claim = Claim.objects.get()
    assert (claim.organization, claim.number, claim.note) == (me, invoice.number, "BX-001")
    second = by_fields(client, invoice)
    page = client.get(reverse("verification_detail", args=[second.pk])).content.decode()
    assert f'data-claim="{claim.pk}"' in page and "请勿重复报销" in page
    response = client.post(reverse("verification_claim", args=[second.pk]), follow=True)
    assert "不能重复报销" in response.content.decode()
    assert Claim.objects.count() == 1
    assert Event.objects.filter(code="verification.claim_refused").count() == 1
    listing = client.get(reverse("claim_list")).content.decode()
    assert listing.count("data-claim=") == 1 and "BX-001" in listing


def test_the_database_refuses_a_second_claim(me):
    invoice = digital_invoice(buyer=me)
    user = me.memberships.first().user
    v = services.verification_by_fields(
        actor=user,
        organization=me,
        data=services.TypedInput(
            number=invoice.number, issue_date=str(invoice.issue_date), total=str(invoice.total)
        ),
    )
    Claim.objects.create(organization=me, number=v.number, verification=v, user=user)
    with pytest.raises(IntegrityError), transaction.atomic():
        Claim.objects.create(organization=me, number=v.number, verification=v, user=user)
    with pytest.raises(services.ClaimRefused) as refused:
        services.claim_create(actor=user, verification=v)
    assert refused.value.existing.verification == v


def test_only_an_agreeing_verification_can_be_claimed(client, me):
    invoice = digital_invoice(buyer=me)
    client.post(
        reverse("verify_fields"),
        {"number": invoice.number, "issue_date": invoice.issue_date, "total": "1"},
    )
    response = client.post(reverse("verification_claim", args=[last().pk]), follow=True)
    assert "不能登记报销" in response.content.decode() and not Claim.objects.exists()


def test_a_viewer_may_verify_but_not_claim(client, me):
    invoice = digital_invoice(buyer=me)
    viewer = testing.member(me, Role.VIEWER)
    client.force_login(viewer)
    v = by_fields(client, invoice)
    assert v.result == "match"
    assert client.post(reverse("verification_claim", args=[v.pk])).status_code == 403


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_record_one(me):
    """Two requests claim at once: the unique constraint lets one through."""
    invoice = digital_invoice(buyer=me)
    user = me.memberships.first().user
    typed = services.TypedInput(
        number=invoice.number, issue_date=str(invoice.issue_date), total=str(invoice.total)
    )
    verifications = [
        services.verification_by_fields(actor=user, organization=me, data=typed) for _ in range(2)
    ]
    barrier = threading.Barrier(2)
    outcomes = []

    def claim(v):
        try:
            barrier.wait()
            services.claim_create(actor=user, verification=v)
            outcomes.append("claimed")
        except services.ClaimRefused:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(v,)) for v in verifications]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["claimed", "refused"]
    assert Claim.objects.filter(organization=me).count() == 1
