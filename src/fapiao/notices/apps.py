from django.apps import AppConfig


class NoticesConfig(AppConfig):
    name = "fapiao.notices"
    label = "notices"
    verbose_name = "消息"
