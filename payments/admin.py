"""The operators' pages for payment methods, refunds and customer credit. Every write goes
through payments.services; rows are then kept as written (no edit, no delete)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from billing.models import Invoice
from catalog.admin_base import CadenceAdmin, CadenceInline, application_error_to_form
from core import clock
from core.banking import masked_iban
from core.errors import ApplicationError
from payments import selectors, services
from payments.forms import (
    MANDATE_TEXT,
    RefundForm,
    SepaMandateForm,
    SepaReturnFileForm,
    SepaReturnForm,
)
from payments.models import CreditEntry, PaymentMethod, Refund, SepaBatch, SepaDebit
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
    list_display = ["customer", "kind", "__str__", "is_default", "status", "mandate_signed_on"]
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
            % {"paid": invoice.amount_paid, "left": selectors.refundable(invoice)},
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


# SEPA direct debit --------------------------------------------------------------------------------


def _may_operate(request: HttpRequest, model) -> bool:
    """Writing through a SEPA door (submit, collect, return, import) needs the model's change
    permission: seeing the batches is not enough."""
    opts = model._meta
    return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")


class SepaDebitInline(CadenceInline):
    model = SepaDebit
    fields = [
        "invoice",
        "customer",
        "amount",
        "sequence_type",
        "end_to_end_id",
        "status",
        "collected_on",
        "return_reason",
        "returned_on",
        "return_link",
    ]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("invoice", "invoice__customer")

    @admin.display(description=_("customer"))
    def customer(self, obj: SepaDebit) -> str:
        return str(obj.invoice.customer)

    @admin.display(description=_("return"))
    def return_link(self, obj: SepaDebit) -> str:
        return _return_link(obj)


def _return_link(obj: SepaDebit) -> str:
    if obj.status == SepaDebit.Status.RETURNED:
        return "—"
    return format_html(
        '<a href="{}">{}</a>',
        reverse("admin:payments_sepadebit_return", args=[obj.pk]),
        _("record a return"),
    )


@admin.register(SepaBatch)
class SepaBatchAdmin(_ReadOnly):
    list_display = [
        "message_id",
        "day",
        "collection_date",
        "status",
        "count",
        "total",
        "submitted_at",
        "download_link",
    ]
    list_filter = ["status", ("day", admin.DateFieldListFilter)]
    search_fields = ["message_id", "debits__end_to_end_id", "debits__invoice__number"]
    inlines = [SepaDebitInline]
    actions = ["mark_submitted"]
    exclude = ["xml"]  # downloaded, not shown

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields if f.name != "xml"] + [
            "download_link",
            "debits_link",
        ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # written by the daily job (payments.sepa_batch)

    def has_operate_permission(self, request: HttpRequest) -> bool:
        return _may_operate(request, SepaBatch)

    def get_urls(self):
        return [
            path(
                "<int:batch_id>/xml/",
                self.admin_site.admin_view(self.xml_view),
                name="payments_sepabatch_xml",
            ),
            path(
                "returns/",
                self.admin_site.admin_view(self.returns_view),
                name="payments_sepabatch_returns",
            ),
            *super().get_urls(),
        ]

    @admin.display(description=_("pain.008 file"))
    def download_link(self, obj: SepaBatch) -> str:
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:payments_sepabatch_xml", args=[obj.pk]),
            _("download"),
        )

    @admin.display(description=_("debits"))
    def debits_link(self, obj: SepaBatch) -> str:
        return format_html(
            '<a href="{}?batch__id__exact={}">{}</a>',
            reverse("admin:payments_sepadebit_changelist"),
            obj.pk,
            _("mark debits collected, record returns"),
        )

    def xml_view(self, request: HttpRequest, batch_id: int) -> HttpResponse:
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        batch = get_object_or_404(SepaBatch, pk=batch_id)
        response = HttpResponse(batch.xml.encode(), content_type="application/xml")
        response["Content-Disposition"] = f'attachment; filename="{batch.filename}"'
        return response

    def returns_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_operate_permission(request):
            return HttpResponse(status=403)
        form = SepaReturnFileForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                result = services.sepa_returns_import(
                    content=form.cleaned_data["file"].read(), today=clock.today()
                )
            except ApplicationError as error:
                application_error_to_form(form, error)
            else:
                self.message_user(
                    request,
                    _("%(count)s debit(s) marked returned; their invoices are open again.")
                    % {"count": len(result.returned)},
                    messages.SUCCESS,
                )
                if result.already_returned:
                    self.message_user(
                        request,
                        _("Already returned, left as they were: %(ids)s")
                        % {"ids": ", ".join(result.already_returned)},
                        messages.INFO,
                    )
                if result.unknown:
                    self.message_user(
                        request,
                        _("Not our debits, nothing written for them: %(ids)s")
                        % {"ids": ", ".join(result.unknown)},
                        messages.WARNING,
                    )
                return HttpResponseRedirect(reverse("admin:payments_sepadebit_changelist"))
        return _service_page(
            self,
            request,
            title=_("Import a SEPA return file"),
            intro=_(
                "Each debit the file rejects is marked returned with the bank's reason code; "
                "a collected one has its payment reversed. The whole file is applied, or "
                "nothing of it."
            ),
            form=form,
            submit=_("Import"),
        )

    @admin.action(description=_("Mark as submitted to the bank"), permissions=["operate"])
    def mark_submitted(self, request: HttpRequest, queryset) -> None:
        self.run_service(
            request,
            queryset,
            lambda batch: services.sepa_batch_mark_submitted(batch=batch, actor=request.user),
            _("%(count)s batch(es) marked as submitted."),
        )


@admin.register(SepaDebit)
class SepaDebitAdmin(_ReadOnly):
    list_display = [
        "end_to_end_id",
        "invoice",
        "amount",
        "sequence_type",
        "status",
        "batch",
        "collected_on",
        "return_reason",
        "returned_on",
        "retry_on",
        "return_link",
    ]
    list_filter = ["status", "sequence_type", "return_reason"]
    search_fields = ["end_to_end_id", "invoice__number", "invoice__customer__name"]
    list_select_related = ["invoice", "batch"]
    actions = ["mark_collected", "retry"]

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "return_link"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # written by the batch

    def has_operate_permission(self, request: HttpRequest) -> bool:
        return _may_operate(request, SepaDebit)

    @admin.display(description=_("return"))
    def return_link(self, obj: SepaDebit) -> str:
        return _return_link(obj)

    def get_urls(self):
        return [
            path(
                "<int:debit_id>/return/",
                self.admin_site.admin_view(self.return_view),
                name="payments_sepadebit_return",
            ),
            *super().get_urls(),
        ]

    def return_view(self, request: HttpRequest, debit_id: int) -> HttpResponse:
        if not self.has_operate_permission(request):
            return HttpResponse(status=403)
        debit = get_object_or_404(SepaDebit.objects.select_related("invoice"), pk=debit_id)
        form = SepaReturnForm(request.POST or None, initial={"day": clock.today()})
        if request.method == "POST" and form.is_valid():
            try:
                services.sepa_debit_return(debit=debit, **form.cleaned_data)
            except ApplicationError as error:
                application_error_to_form(form, error)
            else:
                self.message_user(
                    request,
                    _("Return of %(id)s recorded; invoice %(number)s is open again.")
                    % {"id": debit, "number": debit.invoice},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse("admin:payments_sepabatch_change", args=[debit.batch_id])
                )
        return _service_page(
            self,
            request,
            title=_("Record the return of %(id)s") % {"id": debit},
            intro=_("%(amount)s debited for invoice %(number)s.")
            % {"amount": debit.amount, "number": debit.invoice},
            form=form,
            submit=_("Record the return"),
        )

    @admin.action(description=_("Mark as collected"), permissions=["operate"])
    def mark_collected(self, request: HttpRequest, queryset) -> None:
        today = clock.today()
        self.run_service(
            request,
            queryset.order_by("pk"),
            lambda debit: services.sepa_debit_collect(debit=debit, today=today, actor=request.user),
            _("%(count)s debit(s) marked as collected; their invoices are paid."),
        )

    @admin.action(description=_("Debit again in the next batch"), permissions=["operate"])
    def retry(self, request: HttpRequest, queryset) -> None:
        today = clock.today()
        self.run_service(
            request,
            queryset.order_by("pk"),
            lambda debit: services.sepa_debit_retry(debit=debit, day=today),
            _("%(count)s invoice(s) will be debited again in the next batch."),
        )
