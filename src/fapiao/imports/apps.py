from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ImportsConfig(AppConfig):
    name = "fapiao.imports"
    label = "imports"
    verbose_name = "批量导入"

    def ready(self) -> None:
        from django.db.models.signals import pre_migrate

        from fapiao.core.navigation import NavItem, register
        from fapiao.imports.bulk import on_pre_migrate

        # Indexes a large import left to build (it was killed) are built before any migration.
        pre_migrate.connect(on_pre_migrate, sender=self, dispatch_uid="imports_deferred_indexes")

        register(
            NavItem(
                "import",
                _("导入"),
                "import_list",
                order=35,
                description=_(
                    "把开具和取得的历史发票整理成 CSV 或 Excel 文件批量导入：逐行校验，"
                    "重复导入不会重复记录，出错的行可下载修改后再导入。"
                ),
            )
        )
