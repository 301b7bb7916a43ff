"""`fapiao import FILE --org USCC [--json] [--type CODE]`: import invoice history from the command
line, as the import page does, and print the summary.

The import runs in this process (not in the task queue), chunk by chunk with its checkpoint; a run
that was interrupted is continued with `--resume ID`. With --json, one JSON object: rows,
imported, duplicates, rejected, errors (a list of {row, column, code, message}), and the import's
id, invoices and warnings. The exit code is 0 when the import ran to the end, even with rejected
rows (they are the report); 1 when the file cannot be read or its columns are unclear.
"""

from __future__ import annotations

import json as jsonlib
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from fapiao.accounts.models import Organization
from fapiao.imports import fields, selectors, services
from fapiao.imports.models import ImportStatus, InvoiceImport
from fapiao.rules.text import normalize_code

SHOWN_ERRORS = 20  # in the text summary; --json lists them all


class Command(BaseCommand):
    help = "从 CSV 或 Excel 文件批量导入本单位开具或取得的发票，并输出汇总。"

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", metavar="FILE", help="CSV 或 XLSX 文件")
        parser.add_argument("--org", required=True, metavar="USCC", help="本单位的纳税人识别号")
        parser.add_argument("--json", action="store_true", help="以 JSON 输出汇总")
        parser.add_argument(
            "--type", default="", metavar="CODE", help="文件中没有发票类型时使用的类型代码（如 32）"
        )
        parser.add_argument("--resume", type=int, metavar="ID", help="继续一次中断的导入")

    def handle(self, *args, file, org, json=False, type="", resume=None, **options):
        organization = Organization.objects.filter(tax_id=normalize_code(org)).first()
        if organization is None:
            raise CommandError(f"平台上没有纳税人识别号为 {org} 的单位")
        if resume is not None:
            job = selectors.imports_of(organization=organization).filter(pk=resume).first()
            if job is None:
                raise CommandError(f"本单位没有编号为 {resume} 的导入")
            if job.status == ImportStatus.FAILED:
                InvoiceImport.objects.filter(pk=job.pk).update(status=ImportStatus.QUEUED, error="")
        else:
            if not file:
                raise CommandError("请给出要导入的文件")
            path = Path(file)
            if not path.is_file():
                raise CommandError(f"找不到文件：{file}")
            try:
                job = services.import_create(
                    actor=None,
                    organization=organization,
                    data=path.read_bytes(),
                    name=path.name,
                    background=False,
                    default_type=type,
                )
            except services.ImportRefused as refused:
                raise CommandError(refused.message) from refused
            if job.status == ImportStatus.MAPPING:
                missing = fields.missing_required(job.mapping)
                detection = fields.detect(job.columns)
                unclear = [", ".join(h) for h in detection.ambiguous.values()]
                raise CommandError(
                    "文件的列不明确："
                    + "；".join(
                        ([f"缺少 {'、'.join(missing)}"] if missing else [])
                        + ([f"这些列含义重复：{'；'.join(unclear)}"] if unclear else [])
                    )
                    + f"。请修改表头（可参考导入模板），或在网页上导入并确认各列（导入 #{job.pk}）"
                )
        try:
            job = services.import_run(import_id=job.pk)
        except Exception as failure:
            raise CommandError(
                f"导入 #{job.pk} 中断：{failure}。已导入的部分已保存，可用 --resume {job.pk} 继续"
            ) from failure
        errors = [p.as_dict() for p in selectors.problems_of(job=job)]
        summary = {
            **job.summary(),
            "errors": errors,
            "import_id": job.pk,
            "invoices": job.invoices_imported,
            "warnings": [p.as_dict() for p in selectors.problems_of(job=job, warnings=True)],
        }
        if json:
            self.stdout.write(jsonlib.dumps(summary, ensure_ascii=False))
            return
        self.stdout.write(
            f"导入 #{job.pk}（{job.file_name}）：共 {job.rows} 行，导入 {job.imported} 行"
            f"（{job.invoices_imported} 张发票），重复跳过 {job.duplicates} 行，"
            f"未导入 {job.rejected} 行"
        )
        for error in errors[:SHOWN_ERRORS]:
            self.stdout.write(
                f"  第 {error['row']} 行 {error['column']}：{error['message']}（{error['code']}）"
            )
        if len(errors) > SHOWN_ERRORS:
            self.stdout.write(f"  ……另有 {len(errors) - SHOWN_ERRORS} 条，用 --json 查看全部")
