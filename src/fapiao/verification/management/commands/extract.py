"""`fapiao extract FILE... [--json]`: invoice data from PDF, OFD, XML, images and ZIP archives.

One result per file (a ZIP gives one per member, named ARCHIVE/MEMBER). With --json, one JSON
object per line: file, ok, error ({code, message} or null) and invoice. Without it, a short
summary in Chinese per file. The exit code is 0 even when files are not invoices: the output is
a report; it is non-zero only for usage errors (no file given, a path that does not exist).
"""

from __future__ import annotations

import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from fapiao.verification.extraction import Extraction, extract_file
from fapiao.verification.extraction.merge import FIELD_LABELS
from fapiao.verification.extraction.result import SOURCE_LABELS

SUMMARY_FIELDS = (
    "type_code",
    "code",
    "number",
    "issue_date",
    "amount",
    "tax",
    "total",
    "check_code",
    "seller_name",
    "seller_tax_id",
    "buyer_name",
    "buyer_tax_id",
)


class Command(BaseCommand):
    help = "从 PDF、OFD、XML、图片和 ZIP 压缩包中提取发票信息（压缩包逐个文件输出）。"

    def add_arguments(self, parser):
        parser.add_argument(
            "files", nargs="+", metavar="FILE", help="文件或目录（目录按文件名顺序读取）"
        )
        parser.add_argument("--json", action="store_true", help="每个文件输出一行 JSON")

    def handle(self, *args, files: list[str], json: bool = False, **options):
        paths = _expand(files)
        for path in paths:
            for result in extract_file(path):
                if json:
                    self.stdout.write(result.to_json())
                else:
                    self.stdout.write(summary(result))


def _expand(files: list[str]) -> list[str]:
    """The files named, directories walked in name order; a missing path is a usage error."""
    missing = [f for f in files if not os.path.exists(f)]
    if missing:
        raise CommandError(f"找不到文件：{'、'.join(missing)}")
    paths: list[str] = []
    for name in files:
        path = Path(name)
        if path.is_dir():
            paths.extend(str(p) for p in sorted(path.rglob("*")) if p.is_file())
        else:
            paths.append(name)
    return paths


def summary(result: Extraction) -> str:
    """A few readable lines in Chinese for one result."""
    if not result.ok:
        error = result.error or {}
        return f"✗ {result.file}\n  {error.get('message', '')}（{error.get('code', '')}）\n"
    invoice = result.invoice or {}
    lines = [f"✓ {result.file}"]
    sources = invoice.get("sources") or {}
    for key in SUMMARY_FIELDS:
        value = invoice.get(key)
        if value in (None, ""):
            continue
        source = SOURCE_LABELS.get(sources.get(key, ""), sources.get(key, ""))
        lines.append(f"  {FIELD_LABELS.get(key, key)}：{value}（{source}）")
    if invoice.get("lines"):
        lines.append(f"  明细：{len(invoice['lines'])} 行")
    for conflict in invoice.get("conflicts") or []:
        lines.append(f"  ⚠ {conflict['message']}")
    return "\n".join(lines) + "\n"
