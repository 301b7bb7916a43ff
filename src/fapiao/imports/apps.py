from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ImportsConfig(AppConfig):
    name = "fapiao.imports"
    label = "imports"
    verbose_name = "批量导入"

    def ready(self) -> None:
        from fapiao.core.navigation import NavItem, register

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
