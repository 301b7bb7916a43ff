from django.apps import AppConfig


class FinderConfig(AppConfig):
    name = "fapiao.finder"
    label = "finder"
    verbose_name = "发票查找"
