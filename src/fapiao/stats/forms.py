import datetime

from django import forms
from django.utils.translation import gettext_lazy as _

from fapiao.stats.report import VIEWS, Selection
from fapiao.stats.selectors import Direction, Period, StatsFilters

BAD_DATE = {"invalid": _("请输入有效的日期，例如 2025-03-01。")}
BAD_CHOICE = {"invalid_choice": _("请从列表中选择。")}


class StatsFilterForm(forms.Form):
    """The statistics page's choices, from GET parameters (shared by the page and its exports).
    A date range, when given, takes the place of the year."""

    year = forms.TypedChoiceField(
        label=_("年份"), required=False, coerce=int, empty_value=None, error_messages=BAD_CHOICE
    )
    date_from = forms.DateField(label=_("开始日期"), required=False, error_messages=BAD_DATE)
    date_to = forms.DateField(label=_("结束日期"), required=False, error_messages=BAD_DATE)
    direction = forms.ChoiceField(
        label=_("方向"),
        required=False,
        choices=[
            (Direction.BOTH.value, _("全部")),
            (Direction.ISSUED.value, _("开具")),
            (Direction.RECEIVED.value, _("取得")),
        ],
        error_messages=BAD_CHOICE,
    )
    by = forms.ChoiceField(
        label=_("统计周期"),
        required=False,
        choices=[
            (Period.MONTH.value, _("按月")),
            (Period.QUARTER.value, _("按季度")),
            (Period.YEAR.value, _("按年")),
        ],
        error_messages=BAD_CHOICE,
    )

    def __init__(self, *args, years: list[int], today: datetime.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        self.fields["year"].choices = [(y, _("%(year)s年") % {"year": y}) for y in years]

    def clean(self):
        data = super().clean()
        date_from, date_to = data.get("date_from"), data.get("date_to")
        if date_from and date_to and date_from > date_to:
            self.add_error("date_to", _("结束日期不能早于开始日期。"))
        return data

    def selection(self) -> Selection:
        """What to show, from the fields that are valid (invalid ones fall back to defaults)."""
        data = getattr(self, "cleaned_data", {})
        direction = Direction(data.get("direction") or Direction.BOTH)
        period = Period(data.get("by") or Period.MONTH)
        date_from, date_to = data.get("date_from"), data.get("date_to")
        if "date_to" in self.errors:  # an inverted range: neither end is trusted
            date_from = date_to = None
        if date_from or date_to:
            filters = StatsFilters(date_from, date_to, direction)
            year = None
        else:
            year = data.get("year") or self.today.year
            filters = StatsFilters.for_year(year, direction)
        # The comparison is about this month, or the range's last month when it ended before.
        month = min(self.today, filters.date_to or self.today).replace(day=1)
        if filters.date_from and filters.date_from > self.today:
            month = filters.date_from.replace(day=1)
        return Selection(filters=filters, period=period, month=month, year=year)

    def controls(self, selection: Selection) -> dict[str, dict]:
        """Per field: the value shown and, for a choice, its options as (value, label,
        selected); what is selected is what the page shows, defaults included."""
        shown = {
            "year": str(selection.year or ""),
            "direction": str(selection.filters.direction),
            "by": str(selection.period),
            "date_from": self.data.get("date_from", "") if self.is_bound else "",
            "date_to": self.data.get("date_to", "") if self.is_bound else "",
        }
        controls = {}
        for name, field in self.fields.items():
            errors = self.errors.get(name, []) if self.is_bound else []
            control = {"value": shown[name], "errors": errors}
            if isinstance(field, forms.ChoiceField):
                control["options"] = [
                    (str(value), label, str(value) == shown[name]) for value, label in field.choices
                ]
            controls[name] = control
        return controls


class ExportForm(forms.Form):
    format = forms.ChoiceField(
        choices=[("xlsx", "Excel"), ("csv", "CSV")], required=False, error_messages=BAD_CHOICE
    )
    view = forms.ChoiceField(
        choices=[(key, title) for key, title in VIEWS.items()],
        required=False,
        error_messages=BAD_CHOICE,
    )
