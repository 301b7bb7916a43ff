import datetime
import io
import re
import urllib.parse
import zipfile
from xml.etree import ElementTree

import pytest
from django.urls import reverse
from django.utils import timezone

from fapiao import testing
from fapiao.accounts.models import Role
from fapiao.audit import views
from fapiao.audit.events import EventCode
from fapiao.audit.export import SHANGHAI
from fapiao.audit.models import Event
from fapiao.audit.services import event_record

pytestmark = pytest.mark.django_db

URL = "/audit/export.xlsx"
NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
EXCEL_EPOCH = datetime.datetime(1899, 12, 30)


def read_sheet(content: bytes) -> list[list]:
    """The first worksheet's rows (strings, numbers, None for empty cells), without openpyxl."""
    with zipfile.ZipFile(io.BytesIO(content)) as xlsx:
        assert xlsx.testzip() is None
        shared = ElementTree.fromstring(xlsx.read("xl/sharedStrings.xml"))  # noqa: S314
        sheet = ElementTree.fromstring(xlsx.read("xl/worksheets/sheet1.xml"))  # noqa: S314
    strings = ["".join(t.text or "" for t in si.iter(f"{NS}t")) for si in shared.iter(f"{NS}si")]
    rows = []
    for row in sheet.iter(f"{NS}row"):
        cells = {}
        for cell in row.iter(f"{NS}c"):
            letters = re.match(r"[A-Z]+", cell.get("r")).group()
            column = 0
            for letter in letters:
                column = column * 26 + ord(letter) - 64
            value = cell.find(f"{NS}v")
            if cell.get("t") == "s":
                cells[column - 1] = strings[int(value.text)]
            elif value is not None:
                cells[column - 1] = float(value.text)
        rows.append([cells.get(i) for i in range(max(cells, default=-1) + 1)])
    return rows


def excel_time(serial: float) -> datetime.datetime:
    moment = EXCEL_EPOCH + datetime.timedelta(days=serial)
    return moment.replace(microsecond=0) + datetime.timedelta(
        seconds=round(moment.microsecond / 1e6)
    )


@pytest.fixture
def org():
    return testing.organization("北京甲有限公司")


@pytest.fixture
def admin(org):
    return testing.member(org, Role.ADMIN)


def test_it_exports_the_organizations_log_as_xlsx(client, org, admin, record_at):
    when = datetime.datetime(2025, 3, 5, 23, 30, 15, tzinfo=SHANGHAI)
    record_at(when, code=EventCode.ORG_CREATED, actor=admin, organization=org, obj=org)
    event_record(
        code=EventCode.ORG_UPDATED, organization=testing.organization(), description="别家"
    )
    client.force_login(admin)

    response = client.get(URL)
    assert response.status_code == 200
    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    rows = read_sheet(response.content)
    assert rows[0][:5] == ["时间（北京时间）", "操作人", "事件", "事件代码", "对象"]
    assert len(rows) == 2
    created = rows[1]
    assert excel_time(created[0]) == datetime.datetime(2025, 3, 5, 23, 30, 15)
    assert created[1:5] == [f"{admin.name} <{admin.email}>", "创建组织", "org.created", org.name]
    assert "别家" not in str(rows)
    with zipfile.ZipFile(io.BytesIO(response.content)) as xlsx:
        assert 'formatCode="yyyy-mm-dd hh:mm:ss"' in xlsx.read("xl/styles.xml").decode()


def test_text_that_a_spreadsheet_would_run_as_a_formula_is_neutralised(client, org, admin):
    event_record(
        code=EventCode.ORG_UPDATED,
        organization=org,
        description="=cmd()",
        actor_label="@SUM(A1)",
        details={"note": "+1"},
    )
    event_record(code=EventCode.ORG_UPDATED, organization=org, description="-2+3")
    event_record(code=EventCode.ORG_UPDATED, organization=org, description="\t=1")
    event_record(code=EventCode.ORG_UPDATED, organization=org, description="普通描述 = 1")
    client.force_login(admin)

    rows = read_sheet(client.get(URL).content)
    texts = [row[2] for row in rows[1:]]
    assert texts == ["普通描述 = 1", "'\t=1", "'-2+3", "'=cmd()"]
    assert rows[-1][1] == "'@SUM(A1)"
    with zipfile.ZipFile(io.BytesIO(client.get(URL).content)) as xlsx:
        assert "<f>" not in xlsx.read("xl/worksheets/sheet1.xml").decode()


def test_the_file_is_named_for_the_organization_and_day(client, org, admin):
    client.force_login(admin)
    response = client.get(URL)
    day = timezone.now().astimezone(SHANGHAI).strftime("%Y%m%d")
    name = urllib.parse.quote(f"操作记录-{org.tax_id}-{day}.xlsx")
    assert response["Content-Disposition"] == (
        f"attachment; filename=\"audit-{org.tax_id}-{day}.xlsx\"; filename*=UTF-8''{name}"
    )


def test_the_export_applies_the_filter_and_is_itself_logged(client, org, admin):
    issuer = testing.member(org, Role.ISSUER)
    event_record(code=EventCode.ORG_UPDATED, actor=issuer, organization=org, description="要的")
    event_record(code=EventCode.ORG_UPDATED, actor=admin, organization=org, description="不要")
    event_record(code=EventCode.ORG_CREATED, actor=issuer, organization=org, description="也不要")
    client.force_login(admin)

    query = {"actor": issuer.pk, "code": "org.updated", "date_from": "2025-01-01"}
    rows = read_sheet(client.get(URL, query).content)
    assert [row[2] for row in rows[1:]] == ["要的"]

    exported = Event.objects.get(code=EventCode.AUDIT_EXPORTED)
    assert (exported.organization, exported.actor) == (org, admin)
    assert exported.description == "导出操作记录"
    assert exported.details == {
        "filter": {
            "actor": issuer.pk,
            "actor_email": issuer.email,
            "code": "org.updated",
            "date_from": "2025-01-01",
        },
        "rows": 1,
    }
    assert exported.ip == "127.0.0.1"
    assert exported.hash == exported.compute_hash()


def test_a_bad_filter_goes_back_to_the_log_without_exporting(client, org, admin):
    client.force_login(admin)
    response = client.get(URL, {"date_from": "not-a-date"})
    assert response.status_code == 302
    assert response.url == "/audit/?date_from=not-a-date"
    assert not Event.objects.filter(code=EventCode.AUDIT_EXPORTED).exists()
    assert "筛选条件有误" in client.get(response.url).content.decode()


def test_a_viewer_cannot_export(client, org):
    client.force_login(testing.member(org, Role.VIEWER))
    assert client.get(URL).status_code == 403
    assert not Event.objects.filter(code=EventCode.AUDIT_EXPORTED).exists()


def test_a_user_of_another_organization_exports_only_their_own(client, org, admin):
    event_record(code=EventCode.ORG_UPDATED, actor=admin, organization=org, description="甲的事件")
    other = testing.organization()
    outsider = testing.member(other, Role.ADMIN)
    client.force_login(outsider)

    rows = read_sheet(client.get(URL).content)
    assert rows[1:] == []
    assert Event.objects.get(code=EventCode.AUDIT_EXPORTED).organization == other


def test_anonymous_visitors_are_sent_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_an_export_too_large_for_one_file_asks_for_a_narrower_filter(
    client, org, admin, monkeypatch
):
    monkeypatch.setattr(views, "EXPORT_MAX_ROWS", 2)
    for _ in range(3):
        event_record(code=EventCode.ORG_UPDATED, organization=org)
    client.force_login(admin)
    response = client.get(URL, {"code": "org.updated"}, follow=True)
    assert response.redirect_chain == [("/audit/?code=org.updated", 302)]
    assert "符合条件的记录超过 2 条" in response.content.decode()
    assert not Event.objects.filter(code=EventCode.AUDIT_EXPORTED).exists()
