"""The issuing pages (开具), mounted at invoices/ beside the query pages."""

from django.urls import path

from fapiao.invoices import views_issue as views

urlpatterns = [
    # drafts, review and templates
    path("drafts/", views.draft_list, name="draft_list"),
    path("drafts/new/", views.draft_new, name="draft_new"),
    path("drafts/preview/", views.draft_preview, name="draft_preview"),
    path("drafts/line-row/", views.draft_line_row, name="draft_line_row"),
    path("drafts/<int:pk>/", views.draft_detail, name="draft_detail"),
    path("drafts/<int:pk>/delete/", views.draft_delete, name="draft_delete"),
    path("drafts/<int:pk>/edit/", views.draft_edit, name="draft_edit"),
    path("drafts/<int:pk>/approve/", views.draft_approve, name="draft_approve"),
    path("drafts/<int:pk>/reject/", views.draft_reject, name="draft_reject"),
    path("drafts/templates/<int:pk>/use/", views.template_use, name="template_use"),
    # the invoice page, its documents and lifecycle
    path("<int:pk>/", views.invoice_detail, name="invoice_detail"),
    path("<int:pk>/pdf/", views.invoice_pdf, name="invoice_pdf"),
    path("<int:pk>/xml/", views.invoice_xml, name="invoice_xml"),
    path("<int:pk>/copy/", views.invoice_copy, name="invoice_copy"),
    path("<int:pk>/void/", views.invoice_void, name="invoice_void"),
    path("<int:pk>/red-letter/", views.red_letter_new, name="red_letter_new"),
    # 红字确认单
    path("red-letters/", views.red_letter_list, name="red_letter_list"),
    path("red-letters/<int:pk>/", views.red_letter_detail, name="red_letter_detail"),
    path("red-letters/<int:pk>/confirm/", views.red_letter_confirm, name="red_letter_confirm"),
    path("red-letters/<int:pk>/refuse/", views.red_letter_refuse, name="red_letter_refuse"),
    path("red-letters/<int:pk>/withdraw/", views.red_letter_withdraw, name="red_letter_withdraw"),
    # catalogue (商品和服务) and buyer directory (抬头)
    path("items/", views.item_list, name="item_list"),
    path("items/new/", views.item_new, name="item_new"),
    path("items/search/", views.item_search, name="item_search"),
    path("items/<int:pk>/", views.item_edit, name="item_edit"),
    path("items/<int:pk>/delete/", views.item_delete, name="item_delete"),
    path("buyers/", views.buyer_list, name="buyer_list"),
    path("buyers/new/", views.buyer_new, name="buyer_new"),
    path("buyers/search/", views.buyer_search, name="buyer_search"),
    path("buyers/tax-id-check/", views.buyer_tax_id_check, name="buyer_tax_id_check"),
    path("buyers/<int:pk>/", views.buyer_edit, name="buyer_edit"),
    path("buyers/<int:pk>/delete/", views.buyer_delete, name="buyer_delete"),
]
