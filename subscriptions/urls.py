"""/account/: the customer self-service pages."""

from django.urls import path

from payments import views as payment_views
from subscriptions import views

app_name = "account"
urlpatterns = [
    path("", views.subscription_list, name="subscriptions"),
    path("subscriptions/<int:pk>/", views.subscription_detail, name="subscription"),
    path("subscriptions/<int:pk>/coupon/", views.coupon_redeem, name="coupon"),
    path(
        "subscriptions/<int:pk>/coupon/confirm/",
        views.coupon_redeem_confirm,
        name="coupon_confirm",
    ),
    path(
        "subscriptions/<int:pk>/contracts/<int:contract_pk>/topups/",
        views.contract_topup,
        name="contract_topup",
    ),
    path("subscriptions/<int:pk>/plan/", views.change_plan, name="change_plan"),
    path(
        "subscriptions/<int:pk>/plan/<int:plan_pk>/",
        views.change_plan_confirm,
        name="change_plan_confirm",
    ),
    path(
        "subscriptions/<int:pk>/plan/withdraw/",
        views.withdraw_plan_change,
        name="withdraw_plan_change",
    ),
    path("subscriptions/<int:pk>/cancel/", views.cancel, name="cancel"),
    path("subscriptions/<int:pk>/cancel/undo/", views.undo_cancellation, name="undo_cancellation"),
    path("invoices/", views.invoice_list, name="invoices"),
    path("payment-methods/", payment_views.payment_methods, name="payment_methods"),
    path("payment-methods/card/", payment_views.card_add, name="card_add"),
    path("invoices/<int:pk>/pay/", payment_views.invoice_pay, name="invoice_pay"),
    path(
        "payment-methods/<int:pk>/default/",
        payment_views.payment_method_default,
        name="payment_method_default",
    ),
    path(
        "payment-methods/<int:pk>/revoke/",
        payment_views.payment_method_revoke,
        name="payment_method_revoke",
    ),
    path("invoices/<int:pk>/pdf/", views.invoice_document, name="invoice_pdf"),
    path(
        "invoices/<int:pk>/einvoice/<slug:file_format>/",
        views.invoice_einvoice,
        name="invoice_einvoice",
    ),
]
