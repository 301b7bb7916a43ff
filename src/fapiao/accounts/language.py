"""The language a user reads the platform in: the pages once signed in, and the e-mails and
in-site notices sent to them, whoever's action or which background task sends them."""

from contextlib import AbstractContextManager

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext, gettext_noop
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

# The subject prefix of every e-mail (ACCOUNT_EMAIL_SUBJECT_PREFIX, "【发票平台】" by default),
# translated when the catalogue has it.
gettext_noop("【发票平台】")


def subject_prefix() -> str:
    return gettext(settings.ACCOUNT_EMAIL_SUBJECT_PREFIX)


def language_of_email(email: str, default: str = settings.LANGUAGE_CODE) -> str:
    """The language to write to an address in: the one its user chose, else `default` (the
    platform's, Chinese, unless the caller knows better)."""
    from fapiao.accounts.models import User

    user = (
        User.objects.filter(email__iexact=email.strip()).only("language").first() if email else None
    )
    return (user.language if user else "") or default


def use_language(request, language: str) -> None:
    """The rest of this request in `language` (a user's choice, over the browser's)."""
    translation.activate(language)
    request.LANGUAGE_CODE = language


def remember_language(response, language: str) -> None:
    """Django's language cookie, as its own language switch sets it."""
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )


def in_language_of(user) -> AbstractContextManager:
    """`with in_language_of(user):` renders what is sent to the user in their language."""
    return translation.override(user.message_language if user else settings.LANGUAGE_CODE)


class UserLanguageMiddleware:
    """A signed-in user who chose a language sees the pages in it, on any browser. Placed after
    the authentication middleware; LocaleMiddleware has already picked the browser's language."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        chosen = user.language if user is not None and user.is_authenticated else ""
        # What the browser alone would give (its cookie, else Accept-Language).
        request.browser_language = getattr(request, "LANGUAGE_CODE", settings.LANGUAGE_CODE)
        if chosen and chosen != request.browser_language:
            use_language(request, chosen)
        return self.get_response(request)


@require_POST
def language_switch(request):
    """The language switch at the top of every page: Django's cookie, and for a signed-in user
    their saved choice too (so the next e-mail, and the next browser, follow it)."""
    response = set_language(request)
    language = request.POST.get("language", "")
    if request.user.is_authenticated and language in dict(settings.LANGUAGES):
        from fapiao.accounts.services import language_set

        language_set(user=request.user, language=language)
    return response
