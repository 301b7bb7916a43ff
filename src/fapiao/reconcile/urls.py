from django.urls import path  # noqa: F401

# Included at "reconcile/" by the root URLconf, without a namespace.
urlpatterns: list = []
