from django.urls import path  # noqa: F401

# Included at "notices/" by the root URLconf, without a namespace.
urlpatterns: list = []
