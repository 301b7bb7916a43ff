"""Operation-log events for what Django, allauth and axes do on their own (logins, resets...)."""

from allauth.account.signals import (
    email_confirmed,
    password_changed,
    password_reset,
    password_set,
    user_signed_up,
)
from allauth.mfa.signals import authenticator_added, authenticator_removed
from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from fapiao.audit.events import EventCode
from fapiao.audit.services import event_record


@receiver(user_logged_in, dispatch_uid="fapiao_login")
def on_login(sender, request, user, **kwargs):
    event_record(code=EventCode.ACCOUNT_LOGIN, actor=user)
    # The rest of this request (the "signed in" message, say) in the user's language already:
    # the middleware could only see the browser's, the user being anonymous until now.
    if request is not None and user.language:
        from fapiao.accounts.language import use_language

        use_language(request, user.language)


@receiver(user_signed_up, dispatch_uid="fapiao_signed_up_language")
def on_signed_up(sender, request, user, **kwargs):
    """Whoever signs up reading the pages in another language than Chinese gets their e-mails
    and notices in it."""
    from django.conf import settings

    from fapiao.accounts.services import language_set

    language = getattr(request, "LANGUAGE_CODE", "") if request is not None else ""
    # Chinese, the platform's own language, is what a blank choice gives already: the account
    # keeps following the browser.
    if (
        not user.language
        and language in dict(settings.LANGUAGES)
        and language != settings.LANGUAGE_CODE
    ):
        language_set(user=user, language=language)


@receiver(user_logged_out, dispatch_uid="fapiao_logout")
def on_logout(sender, request, user, **kwargs):
    if user is not None:
        event_record(code=EventCode.ACCOUNT_LOGOUT, actor=user)


@receiver(user_login_failed, dispatch_uid="fapiao_login_failed")
def on_login_failed(sender, credentials, request=None, **kwargs):
    from fapiao.accounts.lockout import username_from_request

    login = username_from_request(request, credentials) if request is not None else ""
    event_record(
        code=EventCode.ACCOUNT_LOGIN_FAILED,
        actor_label=login,
        description=f"登录失败：{login}",
        details={"login": login},
    )


@receiver(user_locked_out, dispatch_uid="fapiao_locked_out")
def on_locked_out(sender, request, username, ip_address, **kwargs):
    event_record(
        code=EventCode.ACCOUNT_LOCKED_OUT,
        actor_label=username or "",
        description=f"连续登录失败，已锁定：{username or ip_address}",
        details={"login": username, "ip": ip_address},
    )


@receiver(password_changed, dispatch_uid="fapiao_password_changed")
@receiver(password_set, dispatch_uid="fapiao_password_set")
def on_password_changed(sender, request, user, **kwargs):
    event_record(code=EventCode.ACCOUNT_PASSWORD_CHANGED, actor=user)


@receiver(password_reset, dispatch_uid="fapiao_password_reset")
def on_password_reset(sender, request, user, **kwargs):
    from fapiao.accounts.services import lockout_clear

    event_record(code=EventCode.ACCOUNT_PASSWORD_RESET, actor=user, details={"channel": "email"})
    lockout_clear(user=user)


@receiver(email_confirmed, dispatch_uid="fapiao_email_confirmed")
def on_email_confirmed(sender, request, email_address, **kwargs):
    event_record(
        code=EventCode.ACCOUNT_EMAIL_CONFIRMED,
        actor=email_address.user,
        details={"email": email_address.email},
    )


@receiver(authenticator_added, dispatch_uid="fapiao_mfa_added")
def on_authenticator_added(sender, request, user, authenticator, **kwargs):
    event_record(
        code=EventCode.ACCOUNT_MFA_ENABLED, actor=user, details={"type": authenticator.type}
    )


@receiver(authenticator_removed, dispatch_uid="fapiao_mfa_removed")
def on_authenticator_removed(sender, request, user, authenticator, **kwargs):
    event_record(
        code=EventCode.ACCOUNT_MFA_DISABLED, actor=user, details={"type": authenticator.type}
    )
