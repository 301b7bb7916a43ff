from django.urls import path

from fapiao.invoices import views_query

# Included at "invoices/" by the root URLconf, without a namespace.
urlpatterns = [
    path("", views_query.invoice_list, name="invoice_list"),
    path("export.xlsx", views_query.invoice_export, name="invoice_export"),
]
