"""Password reset by a 6-digit code sent by SMS (短信找回密码); allauth only resets by email.

Neither service tells whether a mobile number is registered: an unknown number is rate-limited
the same way and its codes are refused with the same message as a wrong code.
"""

import datetime
import hashlib
import math
import secrets

from django.contrib.auth import password_validation
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from fapiao.accounts.models import SmsCode, User
from fapiao.accounts.phones import normalize_mobile
from fapiao.accounts.services import lockout_clear
from fapiao.accounts.sms import send_sms
from fapiao.audit.events import EventCode
from fapiao.audit.services import event_record
from fapiao.rules.text import nfkc

PURPOSE = "password_reset"
CODE_DIGITS = 6
CODE_MINUTES = 10
MAX_ATTEMPTS = 5
RESEND_SECONDS = 60
HOURLY_LIMIT = 5
_HOUR = datetime.timedelta(hours=1)
_HMAC_SALT = "fapiao.accounts.password_sms"


def sms_reset_request(*, mobile: str) -> None:
    """Send a reset code to the account registered with this mobile number, if there is one."""
    normalized = normalize_mobile(mobile)
    if normalized is None:
        raise ValidationError(
            {"mobile": ValidationError(_("请输入 11 位中国大陆手机号码。"), code="invalid_phone")}
        )
    now = timezone.now()
    with transaction.atomic():
        # The row lock makes two simultaneous requests queue, so the rate limit holds.
        user = User.objects.select_for_update().filter(mobile=normalized, is_active=True).first()
        if user is None:
            _unknown_mobile_request(normalized, now)
            return
        _check_rate(
            SmsCode.objects.filter(
                user=user, purpose=PURPOSE, created_at__gt=now - _HOUR
            ).values_list("created_at", flat=True),
            now,
        )
        SmsCode.objects.filter(user=user, purpose=PURPOSE, used_at=None, expires_at__gt=now).update(
            expires_at=now
        )
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        SmsCode.objects.create(
            user=user,
            purpose=PURPOSE,
            code_hash=_code_hash(user, code),
            expires_at=now + datetime.timedelta(minutes=CODE_MINUTES),
        )
        event_record(
            code=EventCode.ACCOUNT_PASSWORD_RESET_REQUESTED, actor=user, details={"channel": "sms"}
        )
        # Sent last and inside the transaction: if the gateway fails, no code is left behind.
        send_sms(
            normalized,
            _(
                "【发票平台】您正在重置登录密码，验证码 %(code)s，%(minutes)d 分钟内有效。"
                "如非本人操作，请忽略本短信，切勿将验证码告诉他人。"
            )
            % {"code": code, "minutes": CODE_MINUTES},
        )


def sms_reset_confirm(*, mobile: str, code: str, new_password: str) -> User:
    """Set a new password when `code` is the live code sent to this mobile number."""
    code = "".join(nfkc(code or "").split())
    normalized = normalize_mobile(mobile)
    with transaction.atomic():
        user = (
            User.objects.select_for_update().filter(mobile=normalized, is_active=True).first()
            if normalized
            else None
        )
        sms = None
        if user is not None:
            sms = (
                SmsCode.objects.select_for_update()
                .filter(
                    user=user,
                    purpose=PURPOSE,
                    used_at=None,
                    expires_at__gt=timezone.now(),
                    attempts__lt=MAX_ATTEMPTS,
                )
                .order_by("-created_at", "-pk")
                .first()
            )
        if sms is not None and constant_time_compare(sms.code_hash, _code_hash(user, code)):
            try:
                password_validation.validate_password(new_password, user)
            except ValidationError as exc:
                raise ValidationError({"new_password": exc.error_list}) from None
            user.set_password(new_password)
            user.save(update_fields=["password", "password_changed_at"])
            sms.used_at = timezone.now()
            sms.save(update_fields=["used_at"])
            event_record(
                code=EventCode.ACCOUNT_PASSWORD_RESET, actor=user, details={"channel": "sms"}
            )
            lockout_clear(user=user)
            return user
        if sms is not None:
            sms.attempts += 1
            sms.save(update_fields=["attempts"])
    # Raised after the commit, so the failed attempt is counted.
    raise ValidationError(
        {
            "code": ValidationError(
                _(
                    "验证码错误或已失效（验证码 %(minutes)d 分钟内有效，只能使用一次，"
                    "输错 %(attempts)d 次即作废），请核对短信或重新获取验证码。"
                )
                % {"minutes": CODE_MINUTES, "attempts": MAX_ATTEMPTS},
                code="code_invalid",
            )
        }
    )


def _code_hash(user: User, code: str) -> str:
    # HMAC with SECRET_KEY: a copy of the database alone cannot be searched for the code.
    return salted_hmac(_HMAC_SALT, f"{user.pk}:{PURPOSE}:{code}", algorithm="sha256").hexdigest()


def _check_rate(sent_at, now: datetime.datetime) -> None:
    recent = sorted(t for t in sent_at if t > now - _HOUR)
    if recent and now - recent[-1] < datetime.timedelta(seconds=RESEND_SECONDS):
        wait = math.ceil(RESEND_SECONDS - (now - recent[-1]).total_seconds())
        message = _("获取验证码过于频繁，请 %(seconds)d 秒后再试。") % {"seconds": max(wait, 1)}
    elif len(recent) >= HOURLY_LIMIT:
        retry_at = recent[-HOURLY_LIMIT] + _HOUR
        minutes = math.ceil((retry_at - now).total_seconds() / 60)
        message = _(
            "同一手机号码一小时内最多获取 %(limit)d 次验证码，请 %(minutes)d 分钟后"
            "（%(time)s 以后）再试。"
        ) % {
            "limit": HOURLY_LIMIT,
            "minutes": max(minutes, 1),
            "time": timezone.localtime(retry_at).strftime("%H:%M"),
        }
    else:
        return
    raise ValidationError({"mobile": ValidationError(message, code="rate_limited")})


def _unknown_mobile_request(mobile: str, now: datetime.datetime) -> None:
    """Rate-limit an unregistered number like a registered one, so the limit reveals nothing."""
    key = "fapiao:sms-reset:" + hashlib.sha256(mobile.encode()).hexdigest()
    sent_at = [t for t in cache.get(key, []) if t > now - _HOUR]
    _check_rate(sent_at, now)
    cache.set(key, [*sent_at, now], timeout=int(_HOUR.total_seconds()))
