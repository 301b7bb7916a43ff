from allauth.account.views import SignupView
from allauth.usersessions.views import ListUserSessionsView
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from fapiao.accounts import selectors, services
from fapiao.accounts.forms import (
    INVITATION_SESSION_KEY,
    InvitationForm,
    OrganizationForm,
    ProfileForm,
    RoleForm,
)
from fapiao.accounts.language import remember_language
from fapiao.accounts.middleware import SESSION_KEY
from fapiao.accounts.models import Invitation, Organization, Role
from fapiao.accounts.permissions import (
    Perm,
    StaffPerm,
    org_required,
    perms_of,
    staff_perms_of,
    staff_required,
)
from fapiao.rules import uscc


class RegisterView(SignupView):
    """allauth's sign-up, knowing the request (for invitations) and prefilled from one."""

    template_name = "account/signup.html"

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["request"] = self.request
        return kwargs

    def get_initial(self):
        initial = super().get_initial()
        invitation = _session_invitation(self.request)
        if invitation is not None:
            initial["email"] = invitation.email
        return initial

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["invitation"] = _session_invitation(self.request)
        form = context.get("form")
        if form is not None and form.is_bound:
            # Re-shown after an error: the code's verdict (and the confirmation box when the
            # check digit is off) come back with the form, with or without JavaScript.
            check, existing = _uscc_verdict(form.data.get("tax_id", ""))
            context.update(
                uscc_check=check,
                uscc_existing=existing,
                uscc_confirmed=bool(form.data.get("confirm_checksum")),
            )
        return context


def _session_invitation(request) -> Invitation | None:
    token = request.session.get(INVITATION_SESSION_KEY)
    return (
        Invitation.objects.filter(token=token).select_related("organization").first()
        if token
        else None
    )


@require_GET
def uscc_check(request):
    """HTMX: what the platform knows of a USCC while the registrant types it."""
    check, existing = _uscc_verdict(request.GET.get("tax_id", ""))
    return render(request, "accounts/_uscc_check.html", {"check": check, "existing": existing})


def _uscc_verdict(raw: str):
    check = uscc.check(raw) if raw.strip() else None
    existing = (
        Organization.objects.filter(tax_id=check.normalized).only("name").first()
        if check is not None and check.well_formed
        else None
    )
    return check, existing


@require_http_methods(["GET", "POST"])
def invitation_accept(request, token: str):
    invitation = Invitation.objects.filter(token=token).select_related("organization").first()
    if invitation is None:
        raise Http404("no such invitation")
    if not request.user.is_authenticated:
        # Remembered until the invitee signs in or registers, then they come back here.
        request.session[INVITATION_SESSION_KEY] = token
        return render(request, "accounts/invitation.html", {"invitation": invitation})
    if request.method == "POST":
        try:
            services.invitation_accept(user=request.user, invitation=invitation)
        except ValidationError as error:
            messages.error(request, error.messages[0])
            return redirect("invitation_accept", token=token)
        request.session.pop(INVITATION_SESSION_KEY, None)
        request.session[SESSION_KEY] = invitation.organization_id
        messages.success(
            request,
            _("您已加入 %(organization)s。") % {"organization": invitation.organization.name},
        )
        return redirect("home")
    return render(request, "accounts/invitation.html", {"invitation": invitation})


@login_required
@require_POST
def organization_switch(request):
    try:
        organization_id = int(request.POST.get("organization", ""))
    except ValueError:
        raise Http404("bad organization") from None
    membership = (
        selectors.memberships_for_user(user=request.user)
        .filter(organization_id=organization_id)
        .first()
    )
    if membership is None:
        raise Http404("not a member")
    request.session[SESSION_KEY] = organization_id
    messages.success(
        request, _("已切换到 %(organization)s。") % {"organization": membership.organization.name}
    )
    return redirect("home")


@org_required(Perm.VIEW)
@require_GET
def members(request):
    organization = request.organization
    may_manage = Perm.MANAGE_MEMBERS in perms_of(request.user, organization)
    context = {
        "members": selectors.members_of(organization=organization),
        "may_manage": may_manage,
        "roles": Role.choices,
        "invite_form": InvitationForm(),
    }
    if may_manage:
        context["invitations"] = selectors.open_invitations(organization=organization)
        context["join_requests"] = selectors.pending_join_requests(organization=organization)
    return render(request, "accounts/members.html", context)


def _run(request, action, success: str):
    try:
        action()
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(request, success)
    return redirect("org_members")


@org_required(Perm.MANAGE_MEMBERS)
@require_POST
def member_invite(request):
    form = InvitationForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请填写正确的邮箱和角色。"))
        return redirect("org_members")
    email, role = form.cleaned_data["email"], form.cleaned_data["role"]
    return _run(
        request,
        lambda: services.invitation_create(
            actor=request.user, organization=request.organization, email=email, role=role
        ),
        _("已向 %(email)s 发送邀请。") % {"email": email},
    )


@org_required(Perm.MANAGE_MEMBERS)
@require_POST
def invitation_revoke(request, pk: int):
    invitation = selectors.invitation_in(organization=request.organization, pk=pk)
    if invitation is None:
        raise Http404("no such invitation")
    return _run(
        request,
        lambda: services.invitation_revoke(actor=request.user, invitation=invitation),
        _("邀请已撤销。"),
    )


@org_required(Perm.MANAGE_MEMBERS)
@require_POST
def member_role(request, pk: int):
    membership = selectors.membership_in(organization=request.organization, pk=pk)
    form = RoleForm(request.POST)
    if membership is None:
        raise Http404("no such member")
    if not form.is_valid():
        messages.error(request, _("请选择有效的角色。"))
        return redirect("org_members")
    role = form.cleaned_data["role"]
    return _run(
        request,
        lambda: services.member_role_change(actor=request.user, membership=membership, role=role),
        _("%(user)s 的角色已改为 %(role)s。") % {"user": membership.user, "role": Role(role).label},
    )


@org_required(Perm.MANAGE_MEMBERS)
@require_POST
def member_remove(request, pk: int):
    membership = selectors.membership_in(organization=request.organization, pk=pk)
    if membership is None:
        raise Http404("no such member")
    return _run(
        request,
        lambda: services.member_remove(actor=request.user, membership=membership),
        _("已移除 %(user)s。") % {"user": membership.user},
    )


@org_required(Perm.MANAGE_MEMBERS)
@require_POST
def join_request_decide(request, pk: int):
    join_request = selectors.join_request_in(organization=request.organization, pk=pk)
    if join_request is None:
        raise Http404("no such request")
    approve = request.POST.get("decision") == "approve"
    role = request.POST.get("role", Role.VIEWER)
    if role not in Role.values:
        role = Role.VIEWER
    return _run(
        request,
        lambda: services.join_request_decide(
            actor=request.user, join_request=join_request, approve=approve, role=role
        ),
        (_("已批准 %(user)s 的加入申请。") if approve else _("已拒绝 %(user)s 的加入申请。"))
        % {"user": join_request.user},
    )


@org_required(Perm.VIEW)
@require_POST
def organization_leave(request):
    membership = (
        selectors.members_of(organization=request.organization).filter(user=request.user).first()
    )
    try:
        services.member_remove(actor=request.user, membership=membership)
    except ValidationError as error:
        messages.error(request, error.messages[0])
        return redirect("org_members")
    request.session.pop(SESSION_KEY, None)
    messages.success(
        request, _("您已退出 %(organization)s。") % {"organization": request.organization.name}
    )
    return redirect("home")


@org_required(Perm.VIEW)
@require_http_methods(["GET", "POST"])
def organization_settings(request):
    organization = request.organization
    may_edit = Perm.MANAGE_SETTINGS in perms_of(request.user, organization)
    form = OrganizationForm(request.POST or None, instance=organization)
    if request.method == "POST":
        if not may_edit:
            raise PermissionDenied
        if form.is_valid():
            # The model form has already copied the input onto `organization`: compare and save
            # against the stored row, so the service sees (and logs) what really changed.
            stored = Organization.objects.get(pk=organization.pk)
            services.organization_update(
                actor=request.user, organization=stored, **form.cleaned_data
            )
            messages.success(request, _("单位信息已保存。"))
            return redirect("org_settings")
        organization.refresh_from_db()
    return render(request, "accounts/organization.html", {"form": form, "may_edit": may_edit})


@login_required
@require_http_methods(["GET", "POST"])
def profile(request):
    user = request.user
    form = ProfileForm(
        request.POST or None,
        user=user,
        initial={"name": user.name, "mobile": user.mobile, "language": user.language},
    )
    if request.method == "POST" and form.is_valid():
        services.profile_update(user=user, **form.cleaned_data)
        language = form.cleaned_data["language"]
        response = redirect("profile")
        if language:  # the browser's cookie too, so the pages stay in it after signing out
            remember_language(response, language)
        with translation.override(language or request.browser_language):
            messages.success(request, _("个人资料已保存。"))
        return response
    return render(
        request,
        "accounts/profile.html",
        {
            "form": form,
            "memberships": selectors.memberships_for_user(user=user),
            "join_requests": selectors.join_requests_of(user=user)[:10],
            "password_age_days": (timezone.now() - user.password_changed_at).days
            if user.password_changed_at
            else None,
        },
    )


@staff_required()
@require_GET
def staff_home(request):
    from fapiao.core.navigation import staff_queues
    from fapiao.core.selectors import calendar_missing

    return render(
        request,
        "accounts/staff_home.html",
        {
            "queues": staff_queues(request),
            "calendar_missing": calendar_missing(today=timezone.localdate()),
            "may_edit_calendar": StaffPerm.REVIEW_QUEUE in staff_perms_of(request.user),
        },
    )


class SessionsView(ListUserSessionsView):
    """allauth's list of the user's sessions; signing out the others is logged."""

    def form_valid(self, form):
        from fapiao.audit.events import EventCode
        from fapiao.audit.services import event_record

        response = super().form_valid(form)
        event_record(code=EventCode.ACCOUNT_SESSIONS_ENDED, actor=self.request.user)
        return response
