"""Every URL the project defines is classified here, and each class is tested for isolation:
another organization's member gets 404, a viewer cannot write, staff pages are staff-only.

Adding a URL without classifying it fails `test_every_url_is_classified`.
"""

import datetime

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from fapiao import testing
from fapiao.accounts.models import (
    Invitation,
    JoinRequest,
    Membership,
    Role,
    StaffRole,
    User,
)
from fapiao.accounts.services import invitation_create, join_request_create
from fapiao.invoices import services as invoice_services
from fapiao.invoices.models import (
    Buyer,
    Draft,
    DraftState,
    Invoice,
    InvoiceStatus,
    Item,
    RedLetterRequest,
    RedLetterStatus,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    """Files stored by the pages (verification uploads) go to a temporary directory."""
    settings.MEDIA_ROOT = str(tmp_path / "media")


# Third-party URL families, mounted as a whole: allauth's account pages act on the signed-in user
# only; Django's admin is for superusers; i18n switches the language.
THIRD_PARTY_PREFIXES = ("account_", "mfa_", "usersessions_", "admin:", "set_language")

PUBLIC = {"home", "help", "health", "register_uscc_check", "invitation_accept",
          "password_reset_sms", "password_reset_sms_verify", "password_reset_sms_done",
          "verification_public"}  # fmt: skip
SIGNED_IN = {"profile", "audit_mine", "org_switch", "notice_list", "notice_read_all"}
# The signed-in user's own objects, addressed by id (POST): anyone else's are 404.
USER_OBJECTS = {"notice_open"}
STAFF = {"staff_home", "staff_auth_queue", "staff_recovery_queue", "staff_calendar"}
# Staff pages about one object (of their queue), addressed by its id: GET, staff with the queue.
STAFF_OBJECTS = {"staff_auth_request", "staff_auth_attachment", "staff_recovery_detail",
                 "staff_recovery_evidence"}  # fmt: skip
# Pages of the current organization: (url name, method, needs a write permission)
ORG_PAGES = {
    "invoice_list": ("get", False),
    "invoice_export": ("get", False),
    "org_members": ("get", False),
    "org_settings": ("get", False),
    "org_leave": ("post", False),
    "org_member_invite": ("post", True),
    "audit_log": ("get", True),
    "audit_export": ("get", True),
    # 开具: drafts, catalogue, buyer directory, red letters
    "draft_list": ("get", False),
    "draft_new": ("get", True),
    "draft_preview": ("post", True),
    "draft_line_row": ("get", True),
    "red_letter_list": ("get", False),
    "item_list": ("get", False),
    "item_new": ("get", True),
    "item_search": ("get", False),
    "buyer_list": ("get", False),
    "buyer_new": ("get", True),
    "buyer_search": ("get", False),
    "buyer_tax_id_check": ("get", False),
    # 查验 (any member may verify); 报销登记 and 认证申请 write
    "verify_fields": ("get", False),
    "verify_fields_inputs": ("get", False),
    "verify_file": ("get", False),
    "verify_batch_new": ("get", False),
    "verification_list": ("get", False),
    "claim_list": ("get", False),
    "auth_request_list": ("get", False),
    "auth_request_new": ("get", True),
    # 统计 (any member may read the statistics and export them)
    "stats_home": ("get", False),
    "stats_export": ("get", False),
    # 批量导入 (members see the imports and templates; uploading needs the issuing permission)
    "import_list": ("get", False),
    "import_new": ("get", True),
    "import_template_xlsx": ("get", False),
    "import_template_csv": ("get", False),
    # 对账 (members see the reconciliations; uploading a ledger needs the issuing permission)
    "reconcile_list": ("get", False),
    "reconcile_new": ("get", True),
    # 发票查找 (read-only: any member; never shows another organization's invoice)
    "finder": ("get", False),
    # 补录 (members follow the applications; applying needs the issuing permission)
    "recovery_list": ("get", False),
    "recovery_new": ("get", True),
    "recovery_from_file": ("post", True),
}
# Actions on one object of the current organization, addressed by its id.
ORG_OBJECTS = {"org_member_role", "org_member_remove", "org_invitation_revoke",
               "org_join_request_decide",
               # 开具 (an invoice is the seller's and the buyer's; the rest one organization's)
               "draft_detail", "draft_edit", "draft_delete", "draft_approve", "draft_reject",
               "template_use",
               "invoice_detail", "invoice_pdf", "invoice_xml", "invoice_copy", "invoice_void",
               "red_letter_new", "red_letter_detail", "red_letter_confirm", "red_letter_refuse",
               "red_letter_withdraw", "item_edit", "item_delete", "buyer_edit",
               "buyer_delete",
               # 查验
               "verify_batch_detail", "verify_batch_progress", "verify_batch_export",
               "verification_detail", "verification_report", "verification_preview",
               "verification_claim", "auth_request_detail", "auth_request_supplement",
               "auth_request_attachment",
               # 批量导入
               "import_detail", "import_progress", "import_rejected", "import_mapping",
               "import_resume",
               # 对账
               "reconcile_detail", "reconcile_progress", "reconcile_export",
               "reconcile_export_status", "reconcile_mapping", "reconcile_recover",
               # 补录
               "recovery_detail", "recovery_edit", "recovery_evidence_add", "recovery_submit",
               "recovery_withdraw", "recovery_evidence", "recovery_evidence_remove"}  # fmt: skip
# Of those, the ones that only read (requested with GET; a viewer may read them).
ORG_OBJECT_READS = {"draft_detail", "invoice_detail", "invoice_pdf", "invoice_xml",
                    "red_letter_detail",
                    "verify_batch_detail", "verify_batch_progress", "verify_batch_export",
                    "verification_detail", "verification_report", "verification_preview",
                    "auth_request_detail", "auth_request_attachment",
                    "import_detail", "import_progress", "import_rejected",
                    "reconcile_detail", "reconcile_progress", "reconcile_export",
                    "reconcile_export_status",
                    "recovery_detail", "recovery_evidence"}  # fmt: skip


def _names(patterns, prefix="") -> set[str]:
    names = set()
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            namespace = f"{pattern.namespace}:" if pattern.namespace else ""
            names |= _names(pattern.url_patterns, prefix + namespace)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.add(prefix + pattern.name)
    return names


def test_every_url_is_classified():
    classified = (
        PUBLIC | SIGNED_IN | USER_OBJECTS | STAFF | STAFF_OBJECTS | set(ORG_PAGES) | ORG_OBJECTS
    )
    unclassified = {
        name
        for name in _names(get_resolver().url_patterns)
        if name not in classified and not name.startswith(THIRD_PARTY_PREFIXES)
    }
    assert unclassified == set(), f"classify these URLs in {__file__}: {sorted(unclassified)}"


@pytest.fixture
def two_orgs():
    a, b = testing.organization("甲单位有限公司"), testing.organization("乙单位有限公司")
    return {
        "a": a,
        "b": b,
        "admin_a": testing.member(a, Role.ADMIN),
        "viewer_a": testing.member(a, Role.VIEWER),
        "admin_b": testing.member(b, Role.ADMIN),
    }


def test_org_pages_need_a_member_and_writes_need_the_permission(client, two_orgs):
    loner = User.objects.create_user(email="loner@example.com", password=testing.PASSWORD)
    for name, (method, writes) in ORG_PAGES.items():
        url = reverse(name)
        # Signed in but in no organization: 404, nothing leaks.
        client.force_login(loner)
        assert getattr(client, method)(url).status_code == 404, name
        if writes:
            client.force_login(two_orgs["viewer_a"])
            assert getattr(client, method)(url).status_code == 403, name
    client.logout()
    for name, (method, _) in ORG_PAGES.items():
        response = getattr(client, method)(reverse(name))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], name


def _objects_of(org, admin):
    invitee = testing.member(testing.organization(), Role.ADMIN)
    join_request_create(user=invitee, organization=org)
    invitation = invitation_create(actor=admin, organization=org, email="x@example.com",
                                   role=Role.ISSUER)  # fmt: skip
    member = Membership.objects.filter(organization=org).exclude(user=admin).first()
    return {
        **_issuing_objects_of(org, admin),
        **_verification_objects_of(org, admin),
        **_import_objects_of(org, admin),
        **_reconcile_objects_of(org, admin),
        **_recovery_objects_of(org, admin),
        "org_member_role": (member.pk, {"role": Role.ADMIN}),
        "org_member_remove": (member.pk, {}),
        "org_invitation_revoke": (invitation.pk, {}),
        "org_join_request_decide": (
            JoinRequest.objects.get(organization=org).pk,
            {"decision": "approve"},
        ),
    }


_LINE = {"name": "*信息技术服务*软件开发服务", "tax_code": "3040201010000000000",
         "quantity": "1", "unit_price": "1000", "rate": "6%"}  # fmt: skip


def _issuing_objects_of(org, admin):
    """A draft, a submitted draft, a template, an invoice sold to a third organization with a
    red-letter request awaiting it, a paper invoice, a catalogue item and a directory buyer."""
    third = testing.organization("丙单位有限公司")
    buyer = {"name": third.name, "tax_id": third.tax_id}

    def save():
        return invoice_services.draft_save(
            actor=admin, organization=org, type_code="31", buyer=buyer, lines=[_LINE]
        )

    draft = save()
    submitted = invoice_services.draft_submit(actor=admin, draft=save())
    template = invoice_services.draft_save_template(actor=admin, draft=draft, name="模板")
    blue = testing.invoice(seller=org, buyer=third)
    paper = testing.invoice(seller=org, type_code="04", code="011001900104", number="00001234",
                            source="imported")  # fmt: skip
    red_request = invoice_services.red_letter_request_create(
        actor=admin, organization=org, blue=blue, reason="1"
    )
    item = Item.objects.create(organization=org, category="信息技术服务", name="运维",
                               tax_code="3040203000000000000", rate="0.06")  # fmt: skip
    directory_buyer = Buyer.objects.create(organization=org, name="丁单位有限公司")
    draft_data = {"type_code": "31", "buyer_name": "改过", "line_name": ["*a*b"],
                  "line_rate": ["6%"], "line_money": ["1"], "action": "save"}  # fmt: skip
    return {
        "draft_detail": (draft.pk, {}),
        "draft_edit": (draft.pk, draft_data),
        "draft_delete": (template.pk, {}),
        "draft_approve": (submitted.pk, {}),
        "draft_reject": (submitted.pk, {"reason": "不对"}),
        "template_use": (template.pk, {}),
        "invoice_detail": (blue.pk, {}),
        "invoice_pdf": (blue.pk, {}),
        "invoice_xml": (blue.pk, {}),
        "invoice_copy": (blue.pk, {}),
        "invoice_void": (paper.pk, {}),
        "red_letter_new": (blue.pk, {"reason": "2", "scope": "full"}),
        "red_letter_detail": (red_request.pk, {}),
        "red_letter_confirm": (red_request.pk, {}),
        "red_letter_refuse": (red_request.pk, {}),
        "red_letter_withdraw": (red_request.pk, {}),
        "item_edit": (item.pk, {"name": "y", "tax_code": "1" * 19, "rate_choice": "13%"}),
        "item_delete": (item.pk, {}),
        "buyer_edit": (directory_buyer.pk, {"name": "改过"}),
        "buyer_delete": (directory_buyer.pk, {}),
    }


def _verification_objects_of(org, admin):
    """A verification of a PDF (previewable), a finished batch and an authentication request
    waiting for more material, with its invoice file."""
    from fapiao.invoices.documents import invoice_pdf
    from fapiao.verification import services as verification_services
    from fapiao.verification.models import AuthRequest, AuthRequestStatus, VerificationBatch

    day = datetime.date.today() - datetime.timedelta(days=5)
    invoice = testing.invoice(day=day, buyer_name="戊单位有限公司")
    pdf = invoice_pdf(invoice)
    verified = verification_services.verification_by_file(
        actor=admin, organization=org, data=pdf, name="a.pdf"
    ).verification
    batch = VerificationBatch.objects.create(organization=org, user=admin, status="done")
    checked, _ = verification_services.attachments_check(
        invoice_files=[verification_services.Upload("a.pdf", pdf)], support_files=[]
    )
    request = verification_services.auth_request_submit(
        actor=admin, organization=org, title="认证", note="", attachments=checked
    )
    AuthRequest.objects.filter(pk=request.pk).update(status=AuthRequestStatus.MORE_INFO)
    return {
        "verify_batch_detail": (batch.pk, {}),
        "verify_batch_progress": (batch.pk, {}),
        "verify_batch_export": (batch.pk, {}),
        "verification_detail": (verified.pk, {}),
        "verification_report": (verified.pk, {}),
        "verification_preview": (verified.pk, {}),
        "verification_claim": (verified.pk, {"note": "x"}),
        "auth_request_detail": (request.pk, {}),
        "auth_request_supplement": (request.pk, {"note": "补充"}),
        "auth_request_attachment": (request.attachments.get().pk, {}),
    }


def _import_objects_of(org, admin):
    """A finished import with a rejected row, one waiting for its column mapping, and one that
    failed half-way."""
    from fapiao.imports.models import ImportStatus, InvoiceImport
    from fapiao.imports.tests.builders import csv_bytes, row, run

    done = run(org, csv_bytes([row(org, 税额="1.00")]), actor=admin)
    waiting = InvoiceImport.objects.create(organization=org, file_name="x.csv", file_format="csv",
                                           columns=["号"], status=ImportStatus.MAPPING)  # fmt: skip
    failed = InvoiceImport.objects.create(organization=org, file_name="y.csv", file_format="csv",
                                          status=ImportStatus.FAILED)  # fmt: skip
    return {
        "import_detail": (done.pk, {}),
        "import_progress": (done.pk, {}),
        "import_rejected": (done.pk, {}),
        "import_mapping": (waiting.pk, {"map_number": "号"}),
        "import_resume": (failed.pk, {}),
    }


def _reconcile_objects_of(org, admin):
    """A finished reconciliation with a row missing on the platform, and one waiting for its
    column mapping."""
    from fapiao.reconcile import services
    from fapiao.reconcile.models import Reconciliation, ReconciliationStatus
    from fapiao.reconcile.tests.builders import csv_bytes, number

    ledger = csv_bytes([{"发票号码": number(), "开票日期": "2025-05-20", "价税合计": "10.00"}])
    done = services.reconciliation_create(actor=admin, organization=org, data=ledger,
                                          name="台账.csv", background=False)  # fmt: skip
    waiting = Reconciliation.objects.create(
        organization=org, file_name="x.csv", file_format="csv", columns=["号"],
        status=ReconciliationStatus.MAPPING,
    )  # fmt: skip
    return {
        "reconcile_detail": (done.pk, {}),
        "reconcile_progress": (done.pk, {}),
        "reconcile_export": (done.pk, {}),
        "reconcile_export_status": (done.pk, {}),
        "reconcile_mapping": (waiting.pk, {"map_number": "号"}),
        "reconcile_recover": (done.pk, {"scope": "all"}),
    }


def _recovery_objects_of(org, admin):
    """A 补录 draft with its invoice file, complete enough to be submitted."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from fapiao.recovery import services
    from fapiao.recovery.tests.helpers import fields, invoice_file, png_bytes

    values = fields(org)
    draft = services.recovery_create(actor=admin, organization=org, data=values, reason="other",
                                     evidence=[invoice_file(values)], submit=False)  # fmt: skip
    evidence = draft.evidence.get()
    edited = {**{k: v or "" for k, v in values.items()}, "seller_name": "改过", "reason": "other"}
    return {
        "recovery_detail": (draft.pk, {}),
        "recovery_edit": (draft.pk, edited),
        "recovery_evidence_add": (
            draft.pk,
            {"kind": "contract", "files": SimpleUploadedFile("合同.png", png_bytes())},
        ),
        "recovery_submit": (draft.pk, {}),
        "recovery_withdraw": (draft.pk, {}),
        "recovery_evidence": (evidence.pk, {}),
        "recovery_evidence_remove": (evidence.pk, {}),
    }


def _assert_recovery_untouched(org):
    from fapiao.recovery.models import RecoveryApplication

    draft = RecoveryApplication.objects.get(organization=org)
    assert draft.status == "draft" and draft.seller_name != "改过"
    assert draft.evidence.count() == 1


def _assert_reconcile_untouched(org):
    from fapiao.reconcile.models import Reconciliation, ReconciliationStatus

    jobs = Reconciliation.objects.filter(organization=org)
    assert jobs.get(status=ReconciliationStatus.MAPPING).mapping == {}
    assert jobs.get(status=ReconciliationStatus.DONE).recoveries == {}


def _assert_imports_untouched(org):
    from fapiao.imports.models import ImportStatus, InvoiceImport

    imports = InvoiceImport.objects.filter(organization=org)
    assert imports.filter(status=ImportStatus.MAPPING, mapping={}).count() == 1
    assert imports.filter(status=ImportStatus.FAILED).count() == 1


def _assert_verification_untouched(org):
    from fapiao.verification.models import AuthRequest, Claim

    assert not Claim.objects.exists()
    request = AuthRequest.objects.get(organization=org)
    assert request.status == "more_info" and request.attachments.count() == 1
    assert "补充" not in request.note


def _assert_issuing_untouched(org):
    drafts = Draft.objects.filter(organization=org)
    assert drafts.count() == 3 and not drafts.filter(buyer_name="改过").exists()
    assert drafts.filter(state=DraftState.SUBMITTED).count() == 1
    assert Invoice.objects.filter(seller_org=org, status=InvoiceStatus.NORMAL).count() == 2
    assert not Invoice.objects.filter(is_red=True).exists()
    assert RedLetterRequest.objects.get().status == RedLetterStatus.AWAITING_BUYER
    assert Item.objects.get(organization=org).name == "运维"
    assert Buyer.objects.get(organization=org).name == "丁单位有限公司"


def _request(client, name, pk, data):
    if name in ORG_OBJECT_READS:
        return client.get(reverse(name, args=[pk]))
    return client.post(reverse(name, args=[pk]), data)


def test_another_organizations_objects_are_404_and_untouched(client, two_orgs):
    targets = _objects_of(two_orgs["a"], two_orgs["admin_a"])
    assert set(targets) == ORG_OBJECTS
    client.force_login(two_orgs["admin_b"])  # an admin, but of the other organization
    for name, (pk, data) in targets.items():
        assert _request(client, name, pk, data).status_code == 404, name
    _assert_issuing_untouched(two_orgs["a"])
    _assert_verification_untouched(two_orgs["a"])
    _assert_imports_untouched(two_orgs["a"])
    _assert_reconcile_untouched(two_orgs["a"])
    _assert_recovery_untouched(two_orgs["a"])
    assert Membership.objects.filter(organization=two_orgs["a"]).count() == 2
    assert Membership.objects.get(user=two_orgs["viewer_a"]).role == Role.VIEWER
    assert Invitation.objects.get(email="x@example.com").revoked_at is None
    assert JoinRequest.objects.get(organization=two_orgs["a"]).status == "pending"


def test_a_viewer_cannot_act_on_objects(client, two_orgs):
    targets = _objects_of(two_orgs["a"], two_orgs["admin_a"])
    client.force_login(two_orgs["viewer_a"])
    for name, (pk, data) in targets.items():
        expected = 200 if name in ORG_OBJECT_READS else 403
        assert _request(client, name, pk, data).status_code == expected, name
    assert Membership.objects.filter(organization=two_orgs["a"]).count() == 2
    _assert_issuing_untouched(two_orgs["a"])
    _assert_verification_untouched(two_orgs["a"])
    _assert_imports_untouched(two_orgs["a"])
    _assert_reconcile_untouched(two_orgs["a"])
    _assert_recovery_untouched(two_orgs["a"])


def test_switching_to_an_organization_one_is_not_in_is_404(client, two_orgs):
    client.force_login(two_orgs["admin_b"])
    response = client.post(reverse("org_switch"), {"organization": two_orgs["a"].pk})
    assert response.status_code == 404
    assert client.get("/").context["current_organization"] == two_orgs["b"]


def test_staff_pages_are_404_for_everyone_but_staff(client, two_orgs):
    staff = User.objects.create_user(email="staff@example.com", password=testing.PASSWORD,
                                     staff_role=StaffRole.REVIEWER)  # fmt: skip
    for name in STAFF:
        client.force_login(two_orgs["admin_a"])
        assert client.get(reverse(name)).status_code == 404
        client.force_login(staff)
        assert client.get(reverse(name)).status_code == 200


def test_staff_objects_are_404_but_for_staff_with_the_queue(client, two_orgs):
    from fapiao.recovery.models import RecoveryApplication
    from fapiao.recovery.services import recovery_submit
    from fapiao.verification.models import AuthRequest

    _verification_objects_of(two_orgs["a"], two_orgs["admin_a"])
    request = AuthRequest.objects.get()
    AuthRequest.objects.filter(pk=request.pk).update(status="pending")
    _recovery_objects_of(two_orgs["a"], two_orgs["admin_a"])
    application = recovery_submit(
        actor=two_orgs["admin_a"], application=RecoveryApplication.objects.get()
    )
    targets = {
        "staff_auth_request": request.pk,
        "staff_auth_attachment": request.attachments.get().pk,
        "staff_recovery_detail": application.pk,
        "staff_recovery_evidence": application.evidence.get().pk,
    }
    assert set(targets) == STAFF_OBJECTS
    reviewer = User.objects.create_user(email="staff@example.com", password=testing.PASSWORD,
                                        staff_role=StaffRole.REVIEWER)  # fmt: skip
    support = User.objects.create_user(email="support@example.com", password=testing.PASSWORD,
                                       staff_role=StaffRole.SUPPORT)  # fmt: skip
    for name, pk in targets.items():
        for outsider in (two_orgs["admin_a"], two_orgs["admin_b"], support):
            client.force_login(outsider)
            assert client.get(reverse(name, args=[pk])).status_code == 404, (name, outsider)
        client.force_login(reviewer)
        assert client.get(reverse(name, args=[pk])).status_code == 200, name


def test_user_objects_are_404_for_other_users_and_untouched(client, two_orgs):
    from fapiao.notices.models import Notice
    from fapiao.notices.services import notice_send

    notice = notice_send(user=two_orgs["admin_a"], title="甲的消息", organization=two_orgs["a"])
    targets = {"notice_open": notice.pk}
    assert set(targets) == USER_OBJECTS
    for name, pk in targets.items():
        # Another member of the same organization is still another user.
        for other in (two_orgs["admin_b"], two_orgs["viewer_a"]):
            client.force_login(other)
            assert client.post(reverse(name, args=[pk])).status_code == 404, name
        client.logout()
        response = client.post(reverse(name, args=[pk]))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert Notice.objects.get(pk=notice.pk).read_at is None
    client.force_login(two_orgs["admin_a"])
    assert client.post(reverse("notice_open", args=[notice.pk])).status_code == 302


def test_signed_in_pages_redirect_anonymous_visitors_to_login(client):
    for name in SIGNED_IN:
        response = client.get(reverse(name)) if name != "org_switch" else client.post(reverse(name))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], name


def test_dashboard_never_shows_another_organizations_invoices(client, two_orgs):
    testing.invoice(seller=two_orgs["a"], amount="777.77", buyer_name="甲的客户有限公司")
    client.force_login(two_orgs["admin_b"])
    body = client.get("/").content.decode()
    assert "甲的客户有限公司" not in body and "824.44" not in body
