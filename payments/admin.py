"""The operators' pages for payment methods, refunds and customer credit. Every write goes
through payments.services; rows are then kept as written (no edit, no delete)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from billing.models import Invoice
from catalog.admin_base import CadenceAdmin, application_error_to_form
from core import clock
from core.banking import masked_iban
from core.errors import ApplicationError
from core.money import money_text
from payments import selectors, services
from payments.forms import MANDATE_TEXT, RefundForm, SepaMandateForm
from payments.models import CreditEntry, PaymentMethod, Refund
from subscriptions.models import Customer


class _ReadOnly(CadenceAdmin):
    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


def _service_page(admin_view, request, *, title, intro, form, submit) -> TemplateResponse:
    context = {
        **admin_view.admin_site.each_context(request),
        "title": title,
        "intro": intro,
        "opts": admin_view.model._meta,
        "form": form,
        "submit": submit,
    }
    return TemplateResponse(request, "admin/payments/service_form.html", context)


@admin.register(PaymentMethod)
class PaymentMethodAdmin(_ReadOnly):
    list_display = [
        "customer",
        "kind",
        "masked_iban",
        "mandate_reference",
        "is_default",
        "status",
        "mandate_signed_on",
    ]
    list_filter = ["kind", "status", "is_default"]
    search_fields = ["customer__name", "mandate_reference", "account_holder"]
    list_select_related = ["customer"]
    exclude = ["iban"]  # shown masked
    actions = ["make_default", "revoke"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields if f.name != "iban"] + ["masked_iban"]

    @admin.display(description=_("IBAN"))
    def masked_iban(self, obj: PaymentMethod) -> str:
        return obj.masked_iban

    def get_urls(self):
        return [
            path(
                "mandate/<int:customer_id>/",
                self.admin_site.admin_view(self.mandate_view),
                name="payments_paymentmethod_mandate",
            ),
            *super().get_urls(),
        ]

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context=None):
        customer_id = request.GET.get("customer", "")
        if customer_id.isdigit():
            return HttpResponseRedirect(
                reverse("admin:payments_paymentmethod_mandate", args=[int(customer_id)])
            )
        self.message_user(
            request,
            _("Open the customer and choose “Add a SEPA mandate” to add one."),
            messages.INFO,
        )
        return HttpResponseRedirect(reverse("admin:subscriptions_customer_changelist"))

    def mandate_view(self, request: HttpRequest, customer_id: int) -> HttpResponse:
        if not self.has_add_permission(request):
            return HttpResponse(status=403)
        customer = get_object_or_404(Customer, pk=customer_id)
        form = SepaMandateForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                method = services.sepa_mandate_add(
                    customer=customer, today=clock.today(), **form.cleaned_data
                )
            except ApplicationError as error:
                application_error_to_form(form, error)
            else:
                self.message_user(
                    request,
                    _("Mandate %(reference)s added for %(customer)s.")
                    % {"reference": method.mandate_reference, "customer": customer},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse("admin:payments_paymentmethod_change", args=[method.pk])
                )
        return _service_page(
            self,
            request,
            title=_("Add a SEPA mandate for %(customer)s") % {"customer": customer},
            intro=MANDATE_TEXT % {"creditor": settings.SELLER_NAME},
            form=form,
            submit=_("Add the mandate"),
        )

    @admin.action(description=_("Make the default payment method"))
    def make_default(self, request: HttpRequest, queryset) -> None:
        self.run_service(
            request,
            queryset,
            lambda method: services.payment_method_set_default(method=method),
            _("%(count)s payment method(s) made the default."),
        )

    @admin.action(description=_("Revoke"))
    def revoke(self, request: HttpRequest, queryset) -> None:
        today = clock.today()
        self.run_service(
            request,
            queryset,
            lambda method: services.payment_method_revoke(method=method, today=today),
            _("%(count)s payment method(s) revoked."),
        )


@admin.register(Refund)
class RefundAdmin(_ReadOnly):
    list_display = ["invoice", "credit_note", "amount", "via", "status", "day", "recorded_by"]
    list_filter = ["via", "status"]
    search_fields = ["invoice__number", "credit_note__number", "invoice__customer__name"]
    list_select_related = ["invoice", "credit_note", "recorded_by"]
    exclude = ["iban"]
    actions = ["mark_paid"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields if f.name != "iban"] + ["masked_iban"]

    @admin.display(description=_("IBAN"))
    def masked_iban(self, obj: Refund) -> str:
        return masked_iban(obj.iban) if obj.iban else "—"

    def get_urls(self):
        return [
            path(
                "invoice/<int:invoice_id>/",
                self.admin_site.admin_view(self.refund_view),
                name="payments_refund_invoice",
            ),
            *super().get_urls(),
        ]

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context=None):
        self.message_user(
            request, _("Open a paid invoice and choose “Refund” to refund it."), messages.INFO
        )
        return HttpResponseRedirect(reverse("admin:billing_invoice_changelist"))

    def refund_view(self, request: HttpRequest, invoice_id: int) -> HttpResponse:
        if not self.has_add_permission(request):
            return HttpResponse(status=403)
        invoice = get_object_or_404(Invoice, pk=invoice_id)
        form = RefundForm(request.POST or None, initial={"amount": selectors.refundable(invoice)})
        if request.method == "POST" and form.is_valid():
            try:
                refund = services.refund_create(
                    invoice=invoice, day=clock.today(), actor=request.user, **form.cleaned_data
                )
            except ApplicationError as error:
                application_error_to_form(form, error)
            else:
                self.message_user(
                    request,
                    _("Refund of %(amount)s recorded; credit note %(number)s issued.")
                    % {"amount": refund.amount, "number": refund.credit_note.number},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse("admin:billing_invoice_change", args=[invoice.pk])
                )
        return _service_page(
            self,
            request,
            title=_("Refund invoice %(number)s") % {"number": invoice.number},
            intro=_("Paid %(paid)s; refundable %(left)s.")
            % {
                "paid": money_text(invoice.amount_paid.amount, invoice.currency),
                "left": money_text(selectors.refundable(invoice), invoice.currency),
            },
            form=form,
            submit=_("Refund"),
        )

    @admin.action(description=_("Mark the transfers as paid"))
    def mark_paid(self, request: HttpRequest, queryset) -> None:
        today = clock.today()
        self.run_service(
            request,
            queryset,
            lambda refund: services.refund_mark_paid(refund=refund, day=today),
            _("%(count)s refund(s) marked as paid."),
        )


@admin.register(CreditEntry)
class CreditEntryAdmin(_ReadOnly):
    list_display = ["customer", "day", "kind", "amount", "invoice"]
    list_filter = ["kind", "currency"]
    search_fields = ["customer__name", "invoice__number"]
    list_select_related = ["customer", "invoice"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # written by refunds, over-payments and the credit job
