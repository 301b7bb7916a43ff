"""`fapiao demo`: demo organizations, people and about a thousand invoices. Safe to repeat."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from fapiao.accounts.demo import DEMO_PASSWORD, demo_accounts_create
from fapiao.invoices.demo import demo_invoices_create


class Command(BaseCommand):
    help = "创建演示数据（组织、各角色用户、约 1,000 张发票）；重复运行不会重复创建。"

    def add_arguments(self, parser):
        parser.add_argument("--invoices", type=int, default=1000, help="number of invoices")
        parser.add_argument("--quiet-logins", action="store_true", help="do not print logins")

    def handle(self, *args, invoices: int, quiet_logins: bool, **options):
        if invoices < 10:
            raise CommandError("--invoices 至少为 10。")
        accounts = demo_accounts_create()
        created = demo_invoices_create(
            organization=accounts.organization,
            partner=accounts.second_organization,
            count=invoices,
        )
        from fapiao.recovery.demo import demo_recovery_create

        if demo_recovery_create(organization=accounts.organization):
            self.stdout.write("已创建 1 份待审核的补录申请。")
        if created:
            self.stdout.write(f"已为 {accounts.organization.name} 创建 {created} 张演示发票。")
        else:
            self.stdout.write(f"演示数据已存在（{accounts.organization.name}），未重复创建。")
        if quiet_logins:
            return
        self.stdout.write("")
        self.stdout.write(
            f"演示账号（密码均为 {DEMO_PASSWORD}），登录地址 {settings.SITE_URL}/accounts/login/"
        )
        width = max(len(email) for email, _, _ in accounts.logins)
        for email, who, role in accounts.logins:
            self.stdout.write(f"  {email.ljust(width)}  {role}  {who}")
