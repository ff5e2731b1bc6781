"""/partners/: the partner portal."""

from django.urls import path

from partners import views
from payments import views as payment_views

app_name = "partners"
urlpatterns = [
    path("", views.customer_list, name="customers"),
    path("customers/<int:pk>/", views.customer_detail, name="customer"),
    path(
        "customers/<int:pk>/subscriptions/new/",
        views.subscription_new,
        name="subscription_new",
    ),
    path(
        "customers/<int:pk>/subscriptions/new/review/",
        views.subscription_review,
        name="subscription_review",
    ),
    path("customers/<int:pk>/seats/add/", views.seats_add, name="seats_add"),
    path("customers/<int:pk>/seats/add/review/", views.seats_add_review, name="seats_add_review"),
    path("subscriptions/<int:pk>/po-reference/", views.po_reference, name="po_reference"),
    path("subscriptions/<int:pk>/seats/reduce/", views.seats_reduce, name="seats_reduce"),
    path("subscriptions/<int:pk>/cancel/", views.cancel, name="cancel"),
    path(
        "subscriptions/<int:pk>/contracts/<int:contract_pk>/topups/",
        views.contract_topup,
        name="contract_topup",
    ),
    path("invoices/", views.invoice_list, name="invoices"),
    path("figures/", views.figures, name="figures"),
    path("payment-methods/", payment_views.partner_payment_methods, name="payment_methods"),
    path("payment-methods/card/", payment_views.partner_card_add, name="card_add"),
    path("invoices/<int:pk>/pay/", payment_views.partner_invoice_pay, name="invoice_pay"),
    path(
        "payment-methods/<int:pk>/default/",
        payment_views.partner_payment_method_default,
        name="payment_method_default",
    ),
    path(
        "payment-methods/<int:pk>/revoke/",
        payment_views.partner_payment_method_revoke,
        name="payment_method_revoke",
    ),
    path("invoices/<int:pk>/pdf/", views.invoice_document, name="invoice_pdf"),
    path(
        "invoices/<int:pk>/einvoice/<slug:file_format>/",
        views.invoice_einvoice,
        name="invoice_einvoice",
    ),
]
