from django.urls import path

from fapiao.finder import views

# Included at "finder/" by the root URLconf, without a namespace.
urlpatterns = [
    path("", views.finder, name="finder"),
]
