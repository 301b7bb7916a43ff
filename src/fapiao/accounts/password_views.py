"""Pages of the password reset by SMS code: mobile number → code and new password → done."""

from django import forms
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from fapiao.accounts.adapter import MobileField
from fapiao.accounts.password_sms import (
    CODE_DIGITS,
    CODE_MINUTES,
    sms_reset_confirm,
    sms_reset_request,
)

SESSION_KEY = "fapiao_password_reset_mobile"
_TEXT = {"autocomplete": "tel", "inputmode": "tel"}


class MobileForm(forms.Form):
    mobile = MobileField(label=_("手机号码"), widget=forms.TextInput(attrs=_TEXT))


class CodeForm(forms.Form):
    code = forms.RegexField(
        label=_("短信验证码"),
        regex=rf"^\s*\d{{{CODE_DIGITS}}}\s*$",
        error_messages={"invalid": _("请输入短信中的 6 位数字验证码。")},
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "maxlength": 8}
        ),
    )
    new_password = forms.CharField(
        label=_("新密码"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    new_password_confirm = forms.CharField(
        label=_("确认新密码"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        cleaned = super().clean()
        first, second = cleaned.get("new_password"), cleaned.get("new_password_confirm")
        if first and second and first != second:
            self.add_error("new_password_confirm", _("两次输入的新密码不一致。"))
        return cleaned


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def password_reset_sms(request):
    form = MobileForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        mobile = form.cleaned_data["mobile"]
        try:
            sms_reset_request(mobile=mobile)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            request.session[SESSION_KEY] = mobile
            return redirect("password_reset_sms_verify")
    return render(request, "accounts/password_sms_request.html", {"form": form})


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def password_reset_sms_verify(request):
    mobile = request.session.get(SESSION_KEY)
    if not mobile:
        return redirect("password_reset_sms")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            sms_reset_confirm(
                mobile=mobile,
                code=form.cleaned_data["code"],
                new_password=form.cleaned_data["new_password"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            del request.session[SESSION_KEY]
            return redirect("password_reset_sms_done")
    return render(
        request,
        "accounts/password_sms_verify.html",
        {"form": form, "masked_mobile": f"{mobile[:3]}****{mobile[-4:]}", "minutes": CODE_MINUTES},
    )


@require_safe
def password_reset_sms_done(request):
    return render(request, "accounts/password_sms_done.html")
