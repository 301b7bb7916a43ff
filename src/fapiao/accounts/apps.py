from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "fapiao.accounts"
    label = "accounts"
    verbose_name = "账户与组织"

    def ready(self) -> None:
        from fapiao.accounts import receivers  # noqa: F401  (connects the signal receivers)
