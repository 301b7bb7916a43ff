import io
import json

import pytest
from django.core.management import CommandError, call_command

from fapiao.audit.models import Event

from .xlsx import read_workbook, values

pytestmark = pytest.mark.django_db


def _run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("stats", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_prints_a_readable_table(org):
    out, _ = _run("--org", org.tax_id, "--by", "quarter", "--year", "2025", "--direction", "issued")
    lines = out.splitlines()
    assert lines[0] == f"北京甲科技有限公司（{org.tax_id}）"
    assert lines[1] == "按季度 · 2025年 · 开具"
    assert lines[2].split() == ["期间", "张数", "红字张数", "金额（不含税）", "税额", "价税合计"]
    assert lines[4].split() == ["2025年第1季度", "2", "0", "700.00", "77.00", "777.00"]
    assert lines[5].split() == ["2025年第2季度", "1", "1", "600.00", "71.00", "671.00"]
    assert lines[-1].split() == ["合计", "4", "1", "1,400.00", "151.00", "1,551.00"]
    # The columns line up (a CJK character is two columns wide).
    assert len({len(line.encode("gbk")) for line in lines[2:] if not line.startswith("-")}) == 1


def test_it_prints_json_with_money_as_strings(org):
    out, _ = _run("--org", org.tax_id.lower(), "--by", "month", "--year", "2025", "--json")
    document = json.loads(out)
    assert document["organization"]["tax_id"] == org.tax_id
    assert document["by"] == "month" and document["direction"] == "both"
    assert len(document["rows"]) == 12
    assert document["rows"][3] == {
        "period": "2025年4月",
        "count": 0,
        "red_count": 1,
        "amount": "-500.00",
        "tax": "-65.00",
        "total": "-565.00",
    }
    assert document["total"]["total"] == "2053.50"


def test_by_year_lists_every_year_unless_one_is_named(org):
    every = json.loads(_run("--org", org.tax_id, "--by", "year", "--json")[0])
    assert [row["period"] for row in every["rows"]] == ["2024年", "2025年"]
    one = json.loads(_run("--org", org.tax_id, "--by", "year", "--year", "2024", "--json")[0])
    assert [row["period"] for row in one["rows"]] == ["2024年"]
    assert one["total"]["total"] == "1130.00"


def test_it_writes_the_workbook_and_logs_the_export(org, tmp_path):
    target = tmp_path / "stats.xlsx"
    _, err = _run("--org", org.tax_id, "--year", "2025", "--xlsx", str(target))
    assert "已写入" in err
    book = read_workbook(target.read_bytes())
    assert len(book) == 9
    assert values(book["按季度"][4]) == ["2025年第1季度", 3.0, 0.0, 1100.0, 129.0, 1229.0]
    event = Event.objects.get(code="stats.exported")
    assert event.organization_id == org.pk and event.actor is None
    assert event.actor_label == "命令行"


def test_an_unknown_organization_is_an_error(book):
    with pytest.raises(CommandError, match="找不到"):
        _run("--org", "91110000000000000X")
