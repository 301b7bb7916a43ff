"""`fapiao recovery remind`: remind applicants who owe material for their 补录 (run it daily,
e.g. from cron or a systemd timer): an application waiting for material at most once a day,
drafts left unsubmitted in one notice per applicant every three days."""

from django.core.management.base import BaseCommand

from fapiao.recovery.services import recovery_remind


class Command(BaseCommand):
    help = "补录：提醒需要补充材料的申请人，以及草稿尚未提交的申请人。"

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        actions.add_parser("remind", help="提醒待补充材料或草稿未提交的申请人")

    def handle(self, *args, action: str, **options):
        if action == "remind":
            count = recovery_remind()
            self.stdout.write(f"已提醒 {count} 份待补充材料或未提交的补录申请。")
