"""认证申请: a member submits invoice files and supporting documents (checked complete and readable
first); staff with the review queue ask for more, reject or approve (with the report); the
requester sees the progress and gets an email at each step."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from fapiao import testing
from fapiao.accounts.models import Role, StaffRole, User
from fapiao.core.navigation import staff_queues
from fapiao.verification.models import AuthRequest, AuthRequestStatus
from fapiao.verification.tests.helpers import URLS, digital_invoice, org_with_member, pdf_of

pytestmark = [pytest.mark.django_db, pytest.mark.urls(URLS)]


@pytest.fixture
def people():
    org, requester = org_with_member(Role.ISSUER)
    reviewer = User.objects.create_user(
        email="reviewer@fapiao.test", password=testing.PASSWORD, staff_role=StaffRole.REVIEWER
    )
    support = User.objects.create_user(
        email="support@fapiao.test", password=testing.PASSWORD, staff_role=StaffRole.SUPPORT
    )
    return {"org": org, "requester": requester, "reviewer": reviewer, "support": support}


def png_bytes() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (40, 30), "white").save(out, format="PNG")
    return out.getvalue()


def submit(client, capture, *, invoices, supports=(), title="11 月差旅费发票认证"):
    with capture(execute=True):
        return client.post(
            reverse("auth_request_new"),
            {
                "title": title,
                "note": "共两张",
                "invoice_files": list(invoices),
                "support_files": list(supports),
            },
        )


def test_the_whole_journey(client, people, mailoutbox, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    org = people["org"]
    invoice = digital_invoice(buyer=org, amount="880.00")
    client.force_login(people["requester"])
    response = submit(
        client,
        capture,
        invoices=[SimpleUploadedFile("trip.pdf", pdf_of(invoice))],
        supports=[SimpleUploadedFile("receipt.png", png_bytes())],
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    request = AuthRequest.objects.get()
    assert request.status == AuthRequestStatus.PENDING and request.attachments.count() == 2
    assert len(mailoutbox) == 1 and "已收到您的认证申请" in mailoutbox[0].subject
    assert mailoutbox[0].to == [people["requester"].email]

    # The reviewer's queue counts it; the support desk has no such queue.
    reviewer_request = type("R", (), {"user": people["reviewer"]})
    assert [q["count"] for q in staff_queues(reviewer_request) if q["label"] == "认证申请"] == [1]
    support_request = type("R", (), {"user": people["support"]})
    assert not [q for q in staff_queues(support_request) if q["label"] == "认证申请"]

    client.force_login(people["reviewer"])
    queue = client.get(reverse("staff_auth_queue")).content.decode()
    assert f'data-request="{request.pk}"' in queue and org.name in queue
    page = client.get(reverse("staff_auth_request", args=[request.pk])).content.decode()
    assert 'class="result r-match"' in page and invoice.number in page  # the preliminary check
    attachment = request.attachments.get(kind="support")
    download = client.get(reverse("staff_auth_attachment", args=[attachment.pk]))
    assert download.status_code == 200 and b"".join(download.streaming_content) == png_bytes()

    # More material, please.
    with capture(execute=True):
        response = client.post(
            reverse("staff_auth_request", args=[request.pk]),
            {"decision": "more_info", "message": "请补充付款凭证"},
        )
    assert response.status_code == 302
    request.refresh_from_db()
    assert (
        request.status == AuthRequestStatus.MORE_INFO and request.staff_message == "请补充付款凭证"
    )
    assert "需要补充材料" in mailoutbox[-1].subject and "请补充付款凭证" in mailoutbox[-1].body

    client.force_login(people["requester"])
    page = client.get(reverse("auth_request_detail", args=[request.pk])).content.decode()
    assert "请补充付款凭证" in page and 'data-status="more_info"' in page and "补充材料" in page
    with capture(execute=True):
        response = client.post(
            reverse("auth_request_supplement", args=[request.pk]),
            {
                "note": "付款凭证见附件",
                "support_files": [SimpleUploadedFile("pay.png", png_bytes())],
            },
        )
    request.refresh_from_db()
    assert request.status == AuthRequestStatus.PENDING and request.attachments.count() == 3
    assert "已收到您补充的材料" in mailoutbox[-1].subject

    client.force_login(people["reviewer"])
    with capture(execute=True):
        response = client.post(
            reverse("staff_auth_request", args=[request.pk]),
            {"decision": "approve", "message": "材料齐全"},
        )
    request.refresh_from_db()
    assert request.status == AuthRequestStatus.APPROVED and request.decided_by == people["reviewer"]
    verification = request.verifications.get()
    assert verification.result == "match" and verification.organization == org
    approved = mailoutbox[-1]
    assert "已通过" in approved.subject and len(approved.attachments) == 1
    assert approved.attachments[0][1].startswith(b"%PDF")
    assert len(mailoutbox) == 4

    client.force_login(people["requester"])
    page = client.get(reverse("auth_request_detail", args=[request.pk])).content.decode()
    assert "data-reports" in page and reverse("verification_report", args=[verification.pk]) in page
    for code in ("submitted", "more_info", "supplemented", "approved"):
        assert f'data-event="verification.auth_request_{code}"' in page


def test_a_rejection_carries_its_reason(
    client, people, mailoutbox, django_capture_on_commit_callbacks
):
    invoice = digital_invoice(buyer=people["org"])
    client.force_login(people["requester"])
    submit(
        client,
        django_capture_on_commit_callbacks,
        invoices=[SimpleUploadedFile("a.pdf", pdf_of(invoice))],
    )
    request = AuthRequest.objects.get()
    client.force_login(people["reviewer"])
    response = client.post(reverse("staff_auth_request", args=[request.pk]), {"decision": "reject"})
    assert "请填写驳回原因" in response.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("staff_auth_request", args=[request.pk]),
            {"decision": "reject", "message": "发票抬头不是贵单位"},
        )
    request.refresh_from_db()
    assert request.status == AuthRequestStatus.REJECTED and not request.verifications.exists()
    assert "驳回" in mailoutbox[-1].subject and "发票抬头不是贵单位" in mailoutbox[-1].body
    # Decided: out of the queue, and no second decision.
    assert (
        f'data-request="{request.pk}"'
        not in client.get(reverse("staff_auth_queue")).content.decode()
    )
    client.post(reverse("staff_auth_request", args=[request.pk]), {"decision": "approve"})
    request.refresh_from_db()
    assert request.status == AuthRequestStatus.REJECTED


def test_the_form_checks_the_attachments_are_complete_and_readable(
    client, people, django_capture_on_commit_callbacks
):
    client.force_login(people["requester"])
    capture = django_capture_on_commit_callbacks
    body = submit(client, capture, invoices=[]).content.decode()
    assert "请上传至少一个发票文件" in body
    body = submit(
        client, capture, invoices=[SimpleUploadedFile("photo.png", png_bytes())]
    ).content.decode()
    assert "无法识别为发票" in body
    invoice = digital_invoice(buyer=people["org"])
    body = submit(
        client,
        capture,
        invoices=[SimpleUploadedFile("a.pdf", pdf_of(invoice))],
        supports=[SimpleUploadedFile("contract.pdf", b"%PDF-1.4\n broken")],
    ).content.decode()
    assert "证明材料无法打开" in body and "contract.pdf" in body
    body = submit(
        client,
        capture,
        invoices=[SimpleUploadedFile("a.pdf", pdf_of(invoice))],
        supports=[SimpleUploadedFile("scan.jpg", png_bytes())],
    ).content.decode()
    assert AuthRequest.objects.count() == 1  # a PNG named .jpg is still an image: accepted
    body = submit(
        client,
        capture,
        invoices=[SimpleUploadedFile("a.pdf", pdf_of(invoice))],
        supports=[SimpleUploadedFile("a.exe", b"MZ\x90\x00")],
    ).content.decode()
    assert "类型不支持" in body and AuthRequest.objects.count() == 1


def test_a_viewer_cannot_submit(client, people):
    viewer = testing.member(people["org"], Role.VIEWER)
    client.force_login(viewer)
    assert client.get(reverse("auth_request_new")).status_code == 403
    assert client.get(reverse("auth_request_list")).status_code == 200


def test_staff_see_only_their_queue_and_its_files(
    client, people, django_capture_on_commit_callbacks
):
    invoice = digital_invoice(buyer=people["org"])
    client.force_login(people["requester"])
    submit(
        client,
        django_capture_on_commit_callbacks,
        invoices=[SimpleUploadedFile("a.pdf", pdf_of(invoice))],
    )
    request = AuthRequest.objects.get()
    attachment = request.attachments.get()
    client.force_login(people["support"])  # staff, but without the review queue
    for url in (
        reverse("staff_auth_queue"),
        reverse("staff_auth_request", args=[request.pk]),
        reverse("staff_auth_attachment", args=[attachment.pk]),
    ):
        assert client.get(url).status_code == 404, url
    client.force_login(people["reviewer"])
    # Nothing of the organization beyond the queue: its verifications, invoices, requests list.
    for url in (
        reverse("verification_list"),
        reverse("auth_request_detail", args=[request.pk]),
        reverse("auth_request_attachment", args=[attachment.pk]),
        reverse("claim_list"),
    ):
        assert client.get(url).status_code == 404, url
    # Another reviewer's decided request is not theirs to open.
    other = User.objects.create_user(
        email="r2@fapiao.test", password=testing.PASSWORD, staff_role=StaffRole.REVIEWER
    )
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("staff_auth_request", args=[request.pk]),
            {"decision": "reject", "message": "不符"},
        )
    assert client.get(reverse("staff_auth_request", args=[request.pk])).status_code == 200
    client.force_login(other)
    assert client.get(reverse("staff_auth_request", args=[request.pk])).status_code == 404
    assert client.get(reverse("staff_auth_attachment", args=[attachment.pk])).status_code == 404


def test_the_requester_reads_the_emails_in_their_language(
    client, people, mailoutbox, django_capture_on_commit_callbacks
):
    requester = people["requester"]
    requester.language = "en"
    requester.save(update_fields=["language"])
    invoice = digital_invoice(buyer=people["org"], amount="880.00")
    client.force_login(requester)
    submit(
        client,
        django_capture_on_commit_callbacks,
        invoices=[SimpleUploadedFile("trip.pdf", pdf_of(invoice))],
    )
    request = AuthRequest.objects.get()
    (sent,) = mailoutbox
    assert (
        sent.subject
        == f"[Invoice Platform] We have received your authentication request (#{request.pk})"
    )
    assert f"Request number: #{request.pk}" in sent.body and "您好" not in sent.body
