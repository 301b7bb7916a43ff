import csv
import datetime
import io
import urllib.parse

import pytest

from fapiao import testing
from fapiao.accounts.models import Role
from fapiao.audit.models import Event
from fapiao.rules import uscc

from .xlsx import read_workbook, values

pytestmark = pytest.mark.django_db

URL = "/stats/export"
SHEETS = ["按月", "按季度", "按年", "按类型", "按税率", "按客户／供应商", "按状态", "开具与取得",
          "同比环比"]  # fmt: skip
EVIL = '=HYPERLINK("http://evil.example/x","点击")'


@pytest.fixture
def evil_buyer(org):
    return testing.invoice(
        seller=org,
        buyer_name=EVIL,
        buyer_tax_id=uscc.make("91440300MA0000009"),
        day=datetime.date(2025, 8, 8),
        amount="10.00",
    )


def _filename(response) -> str:
    return urllib.parse.unquote(response["Content-Disposition"].split("''", 1)[1])


def test_it_exports_every_view_as_a_sheet_with_numbers_as_numbers(client, admin, evil_buyer):
    client.force_login(admin)
    response = client.get(URL, {"year": "2025", "direction": "issued", "format": "xlsx"})
    assert response.status_code == 200
    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert _filename(response).startswith("发票统计-") and _filename(response).endswith(".xlsx")
    book = read_workbook(response.content)
    assert list(book) == SHEETS

    month = book["按月"]
    assert month[0][0].value.startswith("北京甲科技有限公司")
    assert values(month[3]) == ["期间", "张数", "红字张数", "金额（不含税）", "税额", "价税合计"]
    june = month[4 + 5]
    assert values(june) == ["2025年6月", 1.0, 0.0, 1100.0, 136.0, 1236.0]
    assert [cell.kind for cell in june] == ["s", "n", "n", "n", "n", "n"]
    assert june[1].number_format == "#,##0"
    assert "0.00" in june[5].number_format
    total = month[4 + 12]
    assert values(total) == ["合计", 5.0, 1.0, 1410.0, 151.6, 1561.6]

    parties = book["按客户／供应商"]
    evil = next(row for row in parties if row[1] and EVIL in str(row[1].value))
    assert evil[1].kind == "s" and evil[1].value == "'" + EVIL  # text, never a formula
    assert not any(
        cell and cell.kind == "f" for sheet in book.values() for r in sheet for cell in r
    )

    comparison = book["同比环比"]
    total_row = next(row for row in comparison if row[0] and row[0].value == "价税合计")
    assert values(total_row) == ["价税合计", 103.0, 0.0, None, 1130.0, pytest.approx(-0.909)]
    assert "%" in total_row[5].number_format

    event = Event.objects.get(code="stats.exported")
    assert event.organization_id == admin.memberships.get().organization_id
    assert event.actor == admin
    assert event.details["format"] == "xlsx"
    assert (
        event.details["filter"]["direction"] == "issued" and event.details["filter"]["year"] == 2025
    )


def test_csv_holds_one_view_with_a_bom(client, admin, evil_buyer):
    client.force_login(admin)
    response = client.get(URL, {"year": "2025", "format": "csv", "view": "party"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response.content.startswith(b"\xef\xbb\xbf")
    assert "按客户／供应商" in _filename(response)
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["类别", "名称", "纳税人识别号"]
    assert rows[1][:2] == ["客户", "北京客户X科技有限公司"]
    assert rows[1][3:8] == ["2", "0", "1300.00", "148.00", "1448.00"]
    assert any(row[1] == "'" + EVIL for row in rows)
    assert Event.objects.get(code="stats.exported").details["view"] == "party"

    month = client.get(URL, {"year": "2025", "format": "csv", "view": "month"})
    rows = list(csv.reader(io.StringIO(month.content.decode("utf-8-sig"))))
    assert rows[4] == ["2025年4月", "0", "1", "-500.00", "-65.00", "-565.00"]  # a number, not '-


def test_csv_without_a_view_goes_back_to_the_page(client, admin):
    client.force_login(admin)
    response = client.get(URL, {"year": "2025", "format": "csv"})
    assert response.status_code == 302 and response["Location"].startswith("/stats/?")
    assert not Event.objects.filter(code="stats.exported").exists()


def test_it_validates_ownership(client, book):
    client.force_login(testing.member(book["other"], Role.ADMIN))
    content = client.get(URL, {"year": "2025", "format": "xlsx"}).content
    text = repr(read_workbook(content))
    for name in ("北京客户X科技有限公司", "上海供应商S1物流有限公司", "北京甲科技有限公司"):
        assert name not in text
    assert "乙的客户有限公司" in text
    event = Event.objects.get(code="stats.exported")
    assert event.organization_id == book["other"].pk
