"""`fapiao audit verify [--org USCC]`: check the operation log's hash chains."""

from django.core.management.base import BaseCommand, CommandError

from fapiao.accounts.models import Organization
from fapiao.audit.models import chain_for
from fapiao.audit.verify import chain_verify, chains


class Command(BaseCommand):
    help = "操作记录防篡改校验：逐条核对哈希链，指出第一处断点。"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        verify = sub.add_parser("verify", help="check the hash chains")
        verify.add_argument("--org", help="only this organization (统一社会信用代码)")

    def handle(self, *args, action, org=None, **options):
        if org:
            organization = Organization.objects.filter(tax_id=org.strip().upper()).first()
            if organization is None:
                raise CommandError(f"找不到统一社会信用代码为 {org} 的组织。")
            names = [chain_for(organization.pk)]
        else:
            names = chains()
        total, broken = 0, []
        for name in names:
            checked, problem = chain_verify(name)
            total += checked
            if problem:
                broken.append(problem)
                self.stderr.write(f"断点：{problem}")
        if broken:
            raise CommandError(f"校验失败：{len(broken)} 条记录链有断点（已核对 {total} 条记录）。")
        self.stdout.write(f"校验通过：{len(names)} 条记录链，共 {total} 条记录，未发现篡改。")
