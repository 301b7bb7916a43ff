"""In-site notices, mounted at notices/ by the root URLconf (no namespace)."""

from django.urls import path

from fapiao.notices import views

urlpatterns = [
    path("", views.notice_list, name="notice_list"),
    path("<int:pk>/open/", views.notice_open, name="notice_open"),
    path("read-all/", views.notice_read_all, name="notice_read_all"),
]
