"""The result's Excel export: built once and kept (in the request for a small result, in the task
queue for a large one), never twice at a time, its failure shown and retried; downloads read the
kept file and are logged; the button's states on the page; other organizations get 404."""

import datetime as dt
import threading
import time

import fastexcel
import pytest
from django.db import connections
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from fapiao import testing
from fapiao.accounts.models import Role
from fapiao.audit.models import Event
from fapiao.reconcile import results, services
from fapiao.reconcile.models import ExportStatus, Reconciliation
from fapiao.reconcile.tests.builders import csv_bytes, number, row_of, sold

pytestmark = pytest.mark.django_db


def run(org, rows, actor=None):
    return services.reconciliation_create(
        actor=actor, organization=org, data=csv_bytes(rows), name="台账.csv", background=False
    )


def a_result(org, admin):
    """A result with rows in several categories: matched, a typo, missing on the platform."""
    typo_of = sold(org, number="25112000000000400001")
    rows = [row_of(sold(org)), row_of(typo_of, 发票号码="25112000000000400002"),
            {"发票号码": number(), "开票日期": "2025-05-20", "价税合计": "=1+1"}]  # fmt: skip
    return run(org, rows, actor=admin)


def sheets(content: bytes) -> dict[str, list[dict]]:
    book = fastexcel.read_excel(content)
    return {name: book.load_sheet(name).to_polars().to_dicts() for name in book.sheet_names}


def stored(job) -> bytes:
    job.refresh_from_db()
    with job.export.open("rb") as stream:
        return stream.read()


@pytest.fixture
def builds(monkeypatch):
    """Counts the workbooks built (and lets a test make building slow or fail)."""
    calls = []
    workbook = results.workbook

    def counted(source, output=None):
        calls.append(source)
        if getattr(counted, "fail", False):
            raise RuntimeError("disk full")
        time.sleep(getattr(counted, "delay", 0))
        return workbook(source, output)

    monkeypatch.setattr(results, "workbook", counted)
    counted.calls = calls
    return counted


@pytest.fixture
def large(monkeypatch):
    """Every result counts as large: its export is built in the task queue."""
    monkeypatch.setattr(services, "INLINE_EXPORT_ROWS", 0)


# --- the service -------------------------------------------------------------------------------


def test_a_small_result_is_built_at_once_and_kept(org, admin, builds):
    job = a_result(org, admin)
    assert job.export_status == ExportStatus.NONE and not job.export
    job = services.reconciliation_export_request(job=job)
    assert job.export_status == ExportStatus.READY and job.export_ready
    assert job.export.name.startswith("reconcile/") and job.export.name.endswith(".xlsx")
    assert job.export_finished_at is not None and job.export_error == ""
    # asked again, or downloaded again: read from the kept file, not built again
    services.reconciliation_export_request(job=job)
    for _ in range(2):
        with services.reconciliation_export_open(actor=admin, job=job) as stream:
            stream.read()
    assert len(builds.calls) == 1
    assert Event.objects.filter(code="reconcile.exported", actor=admin).count() == 2
    assert Event.objects.filter(code="reconcile.exported").last().details["rows"] == 3


def test_the_kept_file_has_the_sheets_and_rows_built_in_memory_before(org, admin):
    job = services.reconciliation_export_request(job=a_result(org, admin))
    before = sheets(results.workbook(services.result_source(job)))  # the in-memory build
    after = sheets(stored(job))
    assert list(after) == ["一致", "平台缺失", "账簿缺失", "信息不一致", "疑似录入错误", "部分匹配"]
    assert after == before
    assert after["疑似录入错误"][0]["平台发票号码"] == "25112000000000400001"
    assert after["平台缺失"][0]["账簿行号"] == 4


def test_a_large_result_is_queued_and_built_by_the_task(
    org, admin, large, builds, django_capture_on_commit_callbacks
):
    job = a_result(org, admin)
    with django_capture_on_commit_callbacks() as queued:
        job = services.reconciliation_export_request(job=job)
    assert job.export_status == ExportStatus.QUEUED and job.export_building
    assert len(queued) == 1 and builds.calls == []
    assert services.reconciliation_export_open(actor=admin, job=job) is None
    queued[0]()  # the task queue runs the task (immediately, in tests)
    job.refresh_from_db()
    assert job.export_status == ExportStatus.READY and len(builds.calls) == 1
    assert job.export_started_at >= job.export_requested_at
    assert sheets(stored(job))["平台缺失"][0]["账簿行号"] == 4


def test_the_build_goes_to_the_database_queue_once(
    org, admin, large, builds, settings, django_capture_on_commit_callbacks
):
    from django_tasks_db.models import DBTaskResult

    from fapiao.reconcile.tasks import reconciliation_export_task

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    job = a_result(org, admin)
    with django_capture_on_commit_callbacks(execute=True):
        services.reconciliation_export_request(job=job)
        services.reconciliation_export_request(job=job)
    (queued,) = DBTaskResult.objects.filter(
        task_path="fapiao.reconcile.tasks.reconciliation_export_task"
    )
    assert queued.args_kwargs["kwargs"] == {"reconciliation_id": job.pk} and builds.calls == []
    reconciliation_export_task.call(**queued.args_kwargs["kwargs"])  # what the worker runs
    job.refresh_from_db()
    assert job.export_ready and len(builds.calls) == 1


def test_asking_again_while_it_is_built_queues_nothing(
    org, admin, large, builds, django_capture_on_commit_callbacks
):
    job = a_result(org, admin)
    with django_capture_on_commit_callbacks() as queued:
        services.reconciliation_export_request(job=job)
        services.reconciliation_export_request(job=job)
    assert len(queued) == 1
    Reconciliation.objects.filter(pk=job.pk).update(export_status=ExportStatus.BUILDING,
                                                    export_started_at=timezone.now())  # fmt: skip
    with django_capture_on_commit_callbacks() as again:
        job = services.reconciliation_export_request(job=job)
    assert again == [] and job.export_status == ExportStatus.BUILDING
    assert builds.calls == []


def test_a_task_delivered_twice_builds_once(org, admin, large, builds):
    job = a_result(org, admin)
    Reconciliation.objects.filter(pk=job.pk).update(export_status=ExportStatus.QUEUED,
                                                    export_requested_at=timezone.now())  # fmt: skip
    first = services.reconciliation_export_build(reconciliation_id=job.pk)
    second = services.reconciliation_export_build(reconciliation_id=job.pk)
    assert first.export_status == second.export_status == ExportStatus.READY
    assert first.export.name == second.export.name and len(builds.calls) == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("size", ["small", "large"])
def test_simultaneous_requests_build_once(size, builds, monkeypatch):
    if size == "large":
        monkeypatch.setattr(services, "INLINE_EXPORT_ROWS", 0)
    org = testing.organization("并发导出有限公司")
    admin = testing.member(org, Role.ADMIN)
    job = a_result(org, admin)
    builds.delay = 0.3  # a build that takes a while, so that the others arrive meanwhile
    barrier, failures = threading.Barrier(4), []

    def ask():
        try:
            barrier.wait()
            services.reconciliation_export_request(job=Reconciliation.objects.get(pk=job.pk))
        except Exception as error:
            failures.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert len(builds.calls) == 1
    job.refresh_from_db()
    assert job.export_status == ExportStatus.READY and stored(job)


def test_a_failed_build_says_so_and_may_be_retried(org, admin, builds, caplog):
    job = a_result(org, admin)
    builds.fail = True
    job = services.reconciliation_export_request(job=job)
    assert job.export_status == ExportStatus.FAILED and not job.export
    assert job.export_error == "RuntimeError: disk full"  # for support; the page says less
    assert "disk full" in caplog.text
    assert services.reconciliation_export_open(actor=admin, job=job) is None
    builds.fail = False
    job = services.reconciliation_export_request(job=job)
    assert job.export_status == ExportStatus.READY and job.export_error == ""
    assert len(builds.calls) == 2


def test_a_build_interrupted_long_ago_may_be_started_again(
    org, admin, large, builds, django_capture_on_commit_callbacks
):
    job = a_result(org, admin)
    long_ago = timezone.now() - dt.timedelta(hours=1)
    Reconciliation.objects.filter(pk=job.pk).update(
        export_status=ExportStatus.BUILDING, export_requested_at=long_ago,
        export_started_at=long_ago,
    )  # fmt: skip
    job.refresh_from_db()
    assert job.export_interrupted and not job.export_building
    with django_capture_on_commit_callbacks(execute=True):  # queued again, and built
        services.reconciliation_export_request(job=job)
    job.refresh_from_db()
    assert job.export_status == ExportStatus.READY and len(builds.calls) == 1


def test_a_kept_file_that_has_gone_is_built_again(org, admin, builds):
    job = services.reconciliation_export_request(job=a_result(org, admin))
    job.export.storage.delete(job.export.name)
    assert services.reconciliation_export_open(actor=admin, job=job) is None
    job.refresh_from_db()
    assert job.export_status == ExportStatus.NONE and not job.export
    assert not Event.objects.filter(code="reconcile.exported").exists()
    job = services.reconciliation_export_request(job=job)
    assert job.export_ready and len(builds.calls) == 2


# --- the pages ---------------------------------------------------------------------------------


@pytest.fixture
def signed_in(client, admin):
    client.force_login(admin)
    return client


def export_url(job):
    return reverse("reconcile_export", args=[job.pk])


def test_a_small_result_offers_a_plain_download_built_on_the_first(signed_in, org, admin, builds):
    job = a_result(org, admin)
    body = signed_in.get(reverse("reconcile_detail", args=[job.pk])).content.decode()
    assert f'href="{export_url(job)}" data-download="xlsx"' in body and "hx-post" not in body
    for _ in range(2):
        response = signed_in.get(export_url(job))
        assert response["Content-Type"].startswith("application/vnd.openxmlformats")
        assert "attachment" in response["Content-Disposition"]
        assert response["Cache-Control"] == "no-store"
        assert sheets(response.getvalue())["疑似录入错误"][0]["类型"] == "有一位数字输错"
    assert len(builds.calls) == 1
    assert Event.objects.filter(code="reconcile.exported").count() == 2


def test_a_large_result_is_built_in_the_background_while_the_button_polls(
    signed_in, org, admin, large, builds, django_capture_on_commit_callbacks
):
    job = a_result(org, admin)
    detail = reverse("reconcile_detail", args=[job.pk])
    status = reverse("reconcile_export_status", args=[job.pk])
    body = signed_in.get(detail).content.decode()
    assert f'hx-post="{export_url(job)}"' in body and "csrfmiddlewaretoken" in body
    # a link to the download before it is built leads back to the page, building nothing
    response = signed_in.get(export_url(job))
    assert response.status_code == 302 and response["Location"] == detail + "#reconcile-export"
    with django_capture_on_commit_callbacks() as queued:
        response = signed_in.post(export_url(job), HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "正在生成 Excel…" in body and f'hx-get="{status}"' in body
    assert 'data-export="building"' in body and builds.calls == []
    # a second click, and the page itself, show the progress
    with django_capture_on_commit_callbacks() as again:
        body = signed_in.post(export_url(job), HTTP_HX_REQUEST="true").content.decode()
    assert again == [] and "正在生成 Excel…" in body
    assert f'hx-get="{status}"' in signed_in.get(detail).content.decode()
    assert "正在生成 Excel…" in signed_in.get(status, HTTP_HX_REQUEST="true").content.decode()
    queued[0]()
    body = signed_in.get(status, HTTP_HX_REQUEST="true").content.decode()
    assert "hx-get" not in body and "Excel 已生成" in body
    assert f'href="{export_url(job)}"' in body and "下载 Excel" in body
    response = signed_in.get(export_url(job))
    assert sheets(response.getvalue())["平台缺失"][0]["账簿行号"] == 4
    assert len(builds.calls) == 1
    assert f'href="{export_url(job)}" data-download' in signed_in.get(detail).content.decode()


def test_without_htmx_the_button_posts_and_returns_to_the_page(
    signed_in, org, admin, large, django_capture_on_commit_callbacks
):
    job = a_result(org, admin)
    with django_capture_on_commit_callbacks() as queued:
        response = signed_in.post(export_url(job))
    assert response["Location"] == reverse("reconcile_detail", args=[job.pk])
    queued[0]()
    assert signed_in.post(export_url(job))["Location"] == export_url(job)  # ready: download


@pytest.mark.parametrize("size", ["small", "large"])
def test_a_failed_export_shows_why_and_the_retry_builds_it(
    size, signed_in, org, admin, builds, monkeypatch, django_capture_on_commit_callbacks
):
    if size == "large":
        monkeypatch.setattr(services, "INLINE_EXPORT_ROWS", 0)
    job = a_result(org, admin)
    status = reverse("reconcile_export_status", args=[job.pk])
    builds.fail = True
    with django_capture_on_commit_callbacks(execute=True):
        signed_in.post(export_url(job), HTTP_HX_REQUEST="true")
    body = signed_in.get(status, HTTP_HX_REQUEST="true").content.decode()
    assert (
        "Excel 生成失败，请重新生成；如果再次失败，请联系客服。" in body and 'role="alert"' in body
    )
    assert "重新生成 Excel" in body and "disk full" not in body and "hx-get" not in body
    detail = signed_in.get(reverse("reconcile_detail", args=[job.pk])).content.decode()
    assert "重新生成 Excel" in detail and f'hx-post="{export_url(job)}"' in detail
    if size == "small":  # the download link, followed again, tries again and returns to the page
        response = signed_in.get(export_url(job))
        assert response["Location"].endswith("#reconcile-export") and len(builds.calls) == 2
        builds.calls.pop()
    builds.fail = False
    with django_capture_on_commit_callbacks(execute=True):
        signed_in.post(export_url(job), HTTP_HX_REQUEST="true")
    body = signed_in.get(status, HTTP_HX_REQUEST="true").content.decode()
    assert "下载 Excel" in body and "生成失败" not in body
    assert len(builds.calls) == 2


def test_an_interrupted_build_shows_as_failed_with_a_retry(signed_in, org, admin):
    job = a_result(org, admin)
    long_ago = timezone.now() - dt.timedelta(hours=2)
    Reconciliation.objects.filter(pk=job.pk).update(export_status=ExportStatus.QUEUED,
                                                    export_requested_at=long_ago)  # fmt: skip
    body = signed_in.get(reverse("reconcile_export_status", args=[job.pk])).content.decode()
    assert "Excel 生成中断，请重新生成。" in body and "hx-get" not in body
    assert 'data-export="failed"' in body and "重新生成 Excel" in body


def test_the_export_post_needs_the_csrf_token(org, admin, large):
    job = a_result(org, admin)
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)
    assert client.post(export_url(job), HTTP_HX_REQUEST="true").status_code == 403
    job.refresh_from_db()
    assert job.export_status == ExportStatus.NONE


def test_a_viewer_may_build_and_download_the_export(client, org, admin, large):
    job = a_result(org, admin)
    viewer = testing.member(org, Role.VIEWER)
    client.force_login(viewer)
    assert client.post(export_url(job), HTTP_HX_REQUEST="true").status_code == 200
    assert client.get(reverse("reconcile_export_status", args=[job.pk])).status_code == 200
    job.refresh_from_db()
    assert job.export_status == ExportStatus.QUEUED


def test_another_organizations_export_is_404_and_untouched(client, org, admin):
    job = a_result(org, admin)
    other = testing.member(testing.organization("杭州启明网络科技有限公司"), Role.ADMIN)
    client.force_login(other)
    for method, url in (("get", export_url(job)), ("post", export_url(job)),
                        ("get", reverse("reconcile_export_status", args=[job.pk]))):  # fmt: skip
        assert getattr(client, method)(url, HTTP_HX_REQUEST="true").status_code == 404, url
    job.refresh_from_db()
    assert job.export_status == ExportStatus.NONE
    assert not Event.objects.filter(code="reconcile.exported").exists()


def test_an_unfinished_reconciliation_has_no_export(signed_in, org, admin):
    job = services.reconciliation_create(
        actor=admin, organization=org, data=csv_bytes([row_of(sold(org))]), name="a.csv",
        background=True,
    )  # fmt: skip
    for method, url in (("get", export_url(job)), ("post", export_url(job)),
                        ("get", reverse("reconcile_export_status", args=[job.pk]))):  # fmt: skip
        assert getattr(signed_in, method)(url).status_code == 404, url
