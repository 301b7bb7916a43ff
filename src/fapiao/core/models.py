"""Platform-wide settings kept in the database: the working-day calendar."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from fapiao.rules import workdays


class CalendarDayKind(models.TextChoices):
    HOLIDAY = workdays.HOLIDAY, _("放假")
    WORKDAY = workdays.WORKDAY, _("调休上班")


class CalendarDay(models.Model):
    """A day that breaks the Monday-to-Friday rule: a public holiday, or a weekend day worked."""

    day = models.DateField(_("日期"), unique=True)
    kind = models.CharField(_("类型"), max_length=10, choices=CalendarDayKind.choices)
    name = models.CharField(_("节日"), max_length=workdays.NAME_MAX, blank=True)

    class Meta:
        verbose_name = _("节假日安排")
        verbose_name_plural = _("节假日安排")
        ordering = ["day"]

    def __str__(self) -> str:
        return f"{self.day:%Y-%m-%d} {self.get_kind_display()} {self.name}"
