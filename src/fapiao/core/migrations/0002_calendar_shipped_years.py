"""The holiday arrangements the platform ships with (see fapiao.rules.workdays); years already
recorded are left as staff entered them."""

from django.db import migrations


def load(apps, schema_editor):
    from fapiao.rules import workdays

    CalendarDay = apps.get_model("core", "CalendarDay")
    for year in workdays.SHIPPED_YEARS:
        if CalendarDay.objects.filter(day__year=year).exists():
            continue
        CalendarDay.objects.bulk_create(
            CalendarDay(day=d.day, kind=d.kind, name=d.name) for d in workdays.official_days(year)
        )


class Migration(migrations.Migration):
    dependencies = [("core", "0001_calendar")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
