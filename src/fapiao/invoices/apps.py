from django.apps import AppConfig
from django.db.models.signals import post_migrate, pre_migrate
from django.utils.translation import gettext_lazy as _


class InvoicesConfig(AppConfig):
    name = "fapiao.invoices"
    label = "invoices"
    verbose_name = "发票"

    def ready(self) -> None:
        from fapiao.core.navigation import NavItem, register

        register(
            NavItem(
                "issue",
                _("开具"),
                "draft_list",
                order=10,
                description=_(
                    "填开数电专票和普票：从商品目录和购买方目录选取，含税或不含税录入，"
                    "提交审核后开具；复制开具、模板、红冲。"
                ),
            )
        )
        register(
            NavItem(
                "query",
                _("查询"),
                "invoice_list",
                order=20,
                description=_(
                    "按发票号码、开票日期、金额、状态、交易方名称或税号、项目名称查找开具和取得的"
                    "发票，可导出 Excel。"
                ),
            )
        )
        pre_migrate.connect(_search_triggers_drop, sender=self)
        post_migrate.connect(_search_triggers_ensure, sender=self)


def _search_triggers_drop(sender, using, plan=None, **kwargs) -> None:
    # SQLite: a migration that rebuilds an invoice table or the name dictionary would stop on
    # the triggers naming the dictionary; they come back after (post_migrate). Only when there
    # are migrations to apply: putting them back re-reads every invoice's names.
    if plan:
        from fapiao.invoices.search import sqlite_triggers_drop

        sqlite_triggers_drop(using)


def _search_triggers_ensure(sender, using, **kwargs) -> None:
    # A migration that rebuilds an invoice table on SQLite drops the search triggers with it.
    from fapiao.invoices.search import sqlite_triggers_ensure

    sqlite_triggers_ensure(using)
