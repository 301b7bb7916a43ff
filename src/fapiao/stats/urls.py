from django.urls import path

from fapiao.stats import views

# Included at "stats/" by the root URLconf, without a namespace.
urlpatterns = [
    path("", views.stats_home, name="stats_home"),
    path("export", views.stats_export_view, name="stats_export"),
]
