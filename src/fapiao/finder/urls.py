from django.urls import path  # noqa: F401

# Included at "finder/" by the root URLconf, without a namespace.
urlpatterns: list = []
