import string

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext


class CharacterClassValidator:
    """At least N of four character classes: lower-case, upper-case, digits, symbols."""

    def __init__(self, classes: int = 3):
        self.classes = classes

    def validate(self, password: str, user=None) -> None:
        found = sum(
            (
                any(c.islower() for c in password),
                any(c.isupper() for c in password),
                any(c.isdigit() for c in password),
                any(c in string.punctuation or c == " " for c in password),
            )
        )
        if found < self.classes:
            raise ValidationError(self.get_help_text(), code="password_too_simple")

    def get_help_text(self) -> str:
        return ngettext(
            "密码需至少包含小写字母、大写字母、数字、符号中的 %(n)d 类。",
            "密码需至少包含小写字母、大写字母、数字、符号中的 %(n)d 类。",
            self.classes,
        ) % {"n": self.classes}


def password_is_stale(user, max_age_days: int, now) -> bool:
    """True when the user should be reminded to change a password older than max_age_days."""
    if not max_age_days or not user.is_authenticated or user.password_changed_at is None:
        return False
    return (now - user.password_changed_at).days >= max_age_days


__all__ = ["CharacterClassValidator", "_", "password_is_stale"]
