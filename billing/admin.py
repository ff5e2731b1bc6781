"""Invoices and credit notes in the admin.

Issued documents are read-only (the database refuses changes anyway); everything an operator does
goes through the billing services: issue a draft, record a payment, cancel by credit note (with a
reason, and whether to reissue), download the PDF.
"""

from __future__ import annotations

from datetime import date

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from billing import documents, services
from billing.models import Invoice, InvoiceLine, Payment
from catalog.admin_base import CadenceAdmin, EstimatedCountPaginator
from core import clock
from core.errors import ApplicationError
from core.money import money_text
from partners.models import Partner
from partners.selectors import partner_invoice_filter
from payments.selectors import dunning_steps_of, sepa_debits_of
from subscriptions.admin import PartnerFilter
from subscriptions.models import Customer


class InvoicePartnerFilter(PartnerFilter):
    """A partner's documents: addressed to it (billing-rules §9), or to its customers (before)."""

    customer_path = "customer__partner_link__partner"

    def queryset(self, request, queryset):
        value = self.value()
        if value and value != "none":
            partner = Partner.objects.filter(pk=value).first() if value.isdigit() else None
            return queryset.filter(partner_invoice_filter(partner)) if partner else queryset.none()
        if value == "none":
            return queryset.filter(
                customer__partner_link__isnull=True, customer__partner_account__isnull=True
            )
        return queryset


class InvoiceCustomerFilter(admin.SimpleListFilter):
    """One customer's invoices, reached from the customer column of the invoice list.

    A plain "customer" filter would list every customer in the sidebar: 100,000 links and a
    query reading them all on each page. This one shows only the customer selected (one query
    by primary key), and nothing when none is, so the list costs the same whatever the number
    of customers. The parameter is the one the admin's own links use (`customer__id__exact`).
    """

    title = _("customer")
    parameter_name = "customer__id__exact"

    def lookups(self, request, model_admin):
        # Only a filter with choices is applied (ChangeList keeps the specs with output): with
        # a value, always one choice, even for an unknown customer, so that it filters.
        value = self.value()
        if not value:
            return []
        name = None
        if value.isascii() and value.isdigit():
            name = Customer.objects.filter(pk=int(value)).values_list("name", flat=True).first()
        return [(value, name or f"#{value}")]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        if not (value.isascii() and value.isdigit()):
            return queryset.none()  # not a customer id: no customer's invoices
        return queryset.filter(customer_id=int(value))


class PaymentForm(forms.Form):
    amount = forms.DecimalField(label=_("amount"), max_digits=14, decimal_places=2, min_value=0)
    # Customer credit is spent by the credit ledger, never typed in.
    method = forms.ChoiceField(
        label=_("method"),
        choices=[c for c in Payment.Method.choices if c[0] != Payment.Method.CUSTOMER_CREDIT],
    )
    received_on = forms.DateField(
        label=_("received on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    reference = forms.CharField(label=_("reference"), max_length=100, required=False)


class CreditNoteForm(forms.Form):
    reason = forms.CharField(
        label=_("reason (printed on the credit note)"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    reissue = forms.BooleanField(
        label=_("invoice the same amounts again on a corrected invoice (at the next billing run)"),
        required=False,
    )


@admin.register(Invoice)
class InvoiceAdmin(CadenceAdmin):
    paginator = EstimatedCountPaginator
    list_display = [
        "number_or_draft",
        "kind",
        "status",
        "customer_link",
        "issue_date",
        "due_date",
        "total",
        "amount_paid",
        "po_reference",
        "pdf_link",
    ]
    list_filter = [
        "status",
        "kind",
        "series",
        InvoicePartnerFilter,
        InvoiceCustomerFilter,
        ("issue_date", admin.DateFieldListFilter),
        "currency",
    ]
    search_fields = [
        "number",
        "customer__name",
        "customer_name",
        "end_customer_name",
        "po_reference",
        "=subscription__id",
    ]
    list_select_related = ["customer"]
    date_hierarchy = "issue_date"
    show_full_result_count = False  # no count(*) of every invoice on each page
    actions = ["issue_drafts", "cancel_by_credit_note"]
    fieldsets = [
        (None, {"fields": ["number", "kind", "status", "credited_invoice", "pdf_link"]}),
        (
            _("Customer"),
            {
                "fields": [
                    "customer",
                    "subscription",
                    "end_customer",
                    "end_customer_name",
                    "customer_name",
                    "customer_address",
                    "customer_vat_number",
                    "language",
                ]
            },
        ),
        (
            _("Dates"),
            {
                "fields": [
                    ("issue_date", "due_date"),
                    ("period_start", "period_end"),
                    "issued_at",
                    "sent_at",
                ]
            },
        ),
        (
            _("Amounts"),
            {"fields": ["currency", "net_total", "tax_total", "total", "amount_paid", "paid_on"]},
        ),
        (_("Lines and taxes"), {"fields": ["lines_table", "taxes_table", "payments_table"]}),
        (
            _("References"),
            {"fields": ["transfer_reference", "po_reference", "billing_key", "note"]},
        ),
    ]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Invoice._meta.fields] + [
            "pdf_link",
            "lines_table",
            "taxes_table",
            "payments_table",
            "transfer_reference",
        ]

    @admin.display(description=_("reference to quote with a transfer"))
    def transfer_reference(self, obj: Invoice) -> str:
        return obj.payment_reference or "—"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # invoices come from the billing run and from corrections

    def has_change_permission(self, request: HttpRequest, obj: Invoice | None = None) -> bool:
        # Every field is read-only: a document changes through its actions (issue, record a
        # payment, cancel by credit note), never through a Save button. The model-level
        # permission still gates those actions.
        if obj is not None:
            return False
        return super().has_change_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Invoice | None = None) -> bool:
        return obj is not None and obj.status == Invoice.Status.DRAFT

    def get_urls(self):
        return [
            path(
                "<int:invoice_id>/pdf/",
                self.admin_site.admin_view(self.pdf_view),
                name="billing_invoice_pdf",
            ),
            path(
                "<int:invoice_id>/payment/",
                self.admin_site.admin_view(self.payment_view),
                name="billing_invoice_payment",
            ),
            *super().get_urls(),
        ]

    @admin.display(description=_("number"), ordering="number")
    def number_or_draft(self, obj: Invoice) -> str:
        return str(obj)

    @admin.display(description=_("customer"), ordering="customer__name")
    def customer_link(self, obj: Invoice) -> str:
        """The customer's name links to this list filtered to the customer's invoices."""
        return format_html(
            '<a href="{}?{}={}">{}</a>',
            reverse("admin:billing_invoice_changelist"),
            InvoiceCustomerFilter.parameter_name,
            obj.customer_id,
            obj.customer,
        )

    @admin.display(description=_("PDF"))
    def pdf_link(self, obj: Invoice) -> str:
        if obj.pk is None:
            return "—"
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:billing_invoice_pdf", args=[obj.pk]),
            _("download"),
        )

    @admin.display(description=_("lines"))
    def lines_table(self, obj: Invoice) -> str:
        rows = []
        for line in obj.lines.order_by("position", "id"):
            discounts = "; ".join(
                f"{d['label']}: −{money_text(d['amount'], line.currency, with_currency=False)}"
                for d in line.discounts
            )
            rows.append(
                (
                    line.description,
                    f"{line.period_start or ''} – {line.period_end or ''}",
                    line.quantity,
                    line.unit_price,
                    line.gross,
                    discounts or "—",
                    line.net,
                    f"{line.tax_rate} %",
                    line.rule or "—",
                )
            )
        header = [
            _("description"),
            _("period"),
            _("quantity"),
            _("unit price"),
            _("before discounts"),
            _("discounts"),
            _("net"),
            _("tax rate"),
            _("how it was computed"),
        ]
        return _table(header, rows)

    @admin.display(description=_("taxes"))
    def taxes_table(self, obj: Invoice) -> str:
        return _table(
            [_("tax rate"), _("taxable base"), _("tax amount")],
            [(f"{t.rate} %", t.base, t.tax) for t in obj.taxes.all()],
        )

    @admin.display(description=_("payments"))
    def payments_table(self, obj: Invoice) -> str:
        rows = [
            (
                p.received_on,
                p.amount,
                p.get_method_display(),
                p.reference or "—",
                p.recorded_by or "—",
            )
            for p in obj.payments.all()
        ]
        links = []
        if obj.kind == Invoice.Kind.INVOICE and obj.status in Invoice.PAYABLE_STATUSES:
            links.append(
                (reverse("admin:billing_invoice_payment", args=[obj.pk]), _("Record a payment"))
            )
        if obj.kind == Invoice.Kind.INVOICE and obj.amount_paid.amount > 0:
            links.append((reverse("admin:payments_refund_invoice", args=[obj.pk]), _("Refund")))
        debits = [
            (
                format_html(
                    '<a href="{}">{}</a>',
                    reverse("admin:payments_sepabatch_change", args=[d.batch_id]),
                    d.end_to_end_id,
                ),
                d.batch.collection_date,
                d.amount,
                d.get_sequence_type_display(),
                d.get_status_display(),
                d.get_return_reason_display() or "—",
            )
            for d in sepa_debits_of(obj)
        ]
        debits_table = ""
        if debits:
            debits_table = format_html(
                "<p><strong>{}</strong></p>{}",
                _("SEPA direct debits"),
                _table(
                    [
                        _("end-to-end id"),
                        _("collection date"),
                        _("amount"),
                        _("sequence type"),
                        _("status"),
                        _("return reason"),
                    ],
                    debits,
                ),
            )
        steps = [(step.day, str(step), step.detail or "—") for step in dunning_steps_of(obj)]
        if steps:
            debits_table += format_html(
                "<p><strong>{}</strong></p>{}",
                _("Dunning"),
                _table([_("date"), _("step"), _("detail")], steps),
            )
        return format_html(
            "{}{}{}",
            _table([_("received on"), _("amount"), _("method"), _("reference"), _("by")], rows),
            debits_table,
            format_html_join("", '<p><a class="button" href="{}">{}</a></p>', links),
        )

    # Views and actions ------------------------------------------------------------------------

    def pdf_view(self, request: HttpRequest, invoice_id: int) -> HttpResponse:
        invoice = get_object_or_404(Invoice, pk=invoice_id)
        if not self.has_view_permission(request, invoice):
            return HttpResponse(status=403)
        response = HttpResponse(documents.invoice_pdf(invoice), content_type="application/pdf")
        response["Content-Disposition"] = (
            f'inline; filename="{documents.invoice_filename(invoice)}"'
        )
        return response

    def payment_view(self, request: HttpRequest, invoice_id: int) -> HttpResponse:
        invoice = get_object_or_404(Invoice, pk=invoice_id)
        if not self.has_change_permission(request):
            return HttpResponse(status=403)
        if request.method == "POST":
            form = PaymentForm(request.POST)
            if form.is_valid():
                try:
                    services.payment_record(
                        invoice=invoice, actor=request.user, **form.cleaned_data
                    )
                except ApplicationError as error:
                    form.add_error(
                        error.field if error.field in form.fields else None, error.message
                    )
                else:
                    self.message_user(
                        request,
                        _("Payment recorded for invoice %(number)s.") % {"number": invoice},
                        messages.SUCCESS,
                    )
                    return HttpResponseRedirect(
                        reverse("admin:billing_invoice_change", args=[invoice.pk])
                    )
        else:
            form = PaymentForm(
                initial={
                    "amount": invoice.balance.amount,
                    "received_on": clock.today(),
                    "method": invoice.customer.payment_type,
                }
            )
        context = {
            **self.admin_site.each_context(request),
            "title": _("Record a payment for invoice %(number)s") % {"number": invoice},
            "opts": self.model._meta,
            "invoice": invoice,
            "form": form,
        }
        return TemplateResponse(request, "admin/billing/payment_form.html", context)

    @admin.action(description=_("Issue the selected drafts"))
    def issue_drafts(self, request: HttpRequest, queryset):
        today = clock.today()
        self.run_service(
            request,
            # Oldest draft first, as the run numbers its documents (the list shows newest first).
            queryset.order_by("pk"),
            lambda invoice: services.invoice_issue(invoice=invoice, day=today),
            _("%(count)s invoice(s) issued."),
        )

    @admin.action(description=_("Cancel by credit note…"))
    def cancel_by_credit_note(self, request: HttpRequest, queryset) -> HttpResponse | None:
        form = CreditNoteForm(request.POST if "reason" in request.POST else None)
        if form.is_bound and form.is_valid():
            today: date = clock.today()
            self.run_service(
                request,
                queryset,
                lambda invoice: services.invoice_cancel_by_credit_note(
                    invoice=invoice,
                    day=today,
                    reason=form.cleaned_data["reason"],
                    reissue=form.cleaned_data["reissue"],
                ),
                _("%(count)s invoice(s) cancelled by credit note."),
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Cancel by credit note"),
            "opts": self.model._meta,
            "queryset": queryset,
            "form": form,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/billing/credit_note_form.html", context)


def _table(headers, rows) -> str:
    if not rows:
        return "—"
    head = format_html_join("", '<th scope="col">{}</th>', ((h,) for h in headers))
    body = format_html_join(
        "",
        "<tr>{}</tr>",
        ((format_html_join("", "<td>{}</td>", ((cell,) for cell in row)),) for row in rows),
    )
    return format_html(
        '<table class="cadence-table"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>',
        head,
        body,
    )


@admin.register(InvoiceLine)
class InvoiceLineAdmin(CadenceAdmin):
    """Lines across invoices, for accounting exports: ledger account, item type, charge."""

    paginator = EstimatedCountPaginator

    list_display = [
        "invoice",
        "description",
        "kind",
        "net",
        "tax_rate",
        "ledger_account",
        "invoice_item_type",
        "charge_date",
    ]
    list_filter = ["kind", "ledger_account", "invoice_item_type", "tax_rate"]
    search_fields = ["invoice__number", "description", "charge_key"]
    list_select_related = ["invoice"]
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in InvoiceLine._meta.fields]

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # a line is part of its document: shown, never saved (the database refuses)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Payment)
class PaymentAdmin(CadenceAdmin):
    paginator = EstimatedCountPaginator
    list_display = ["invoice", "amount", "method", "received_on", "reference", "recorded_by"]
    list_filter = ["method", ("received_on", admin.DateFieldListFilter)]
    search_fields = ["invoice__number", "reference", "invoice__customer__name"]
    list_select_related = ["invoice", "recorded_by"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Payment._meta.fields]

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # recorded through the service, then kept as recorded

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # recorded from the invoice ("Record a payment"), through the service

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
