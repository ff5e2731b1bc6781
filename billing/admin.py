"""Invoices and credit notes in the admin.

Issued documents are read-only (the database refuses changes anyway); everything an operator does
goes through the billing services: issue a draft, record a payment, cancel by credit note (with a
reason, and whether to reissue), download the PDF.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from billing import documents, services
from billing.models import (
    EInvoice,
    EInvoiceStatusEvent,
    Invoice,
    InvoiceLine,
    NumberClaim,
    Payment,
)
from billing.services.einvoices import FORMATS as EINVOICE_FORMATS
from catalog.admin_base import CadenceAdmin, EstimatedCountPaginator
from catalog.admin_filters import YearMonthFieldListFilter, known_values_filter
from catalog.models import Product, TaxRate, Term
from core import clock
from core.errors import ApplicationError
from core.money import money_text
from partners.models import Partner
from partners.selectors import partner_invoice_filter
from payments.selectors import dunning_steps_of, sepa_debits_of
from reports.admin_exports import ExportAdminMixin
from reports.exports.datasets import CREDIT_NOTES, INVOICE_LINES, INVOICES, PAYMENTS
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
class InvoiceAdmin(ExportAdminMixin, CadenceAdmin):
    export_dataset = INVOICES
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
    # Every option comes from the code, never from a read of the invoices (catalog.admin_filters):
    # the issue date by year and month replaces the date hierarchy's MIN/MAX and DISTINCT dates.
    list_filter = [
        "status",
        "kind",
        ("series", known_values_filter(lambda: [(s, s) for s in Invoice.SERIES.values()])),
        InvoicePartnerFilter,
        InvoiceCustomerFilter,
        ("issue_date", YearMonthFieldListFilter),
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
        (_("E-invoice"), {"fields": ["einvoice_panel"]}),
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
            "einvoice_panel",
        ]

    @admin.display(description=_("reference to quote with a transfer"))
    def transfer_reference(self, obj: Invoice) -> str:
        return obj.payment_reference or "—"

    def get_export_dataset(self, request: HttpRequest):
        # One list holds both kinds: filtered to credit notes, it exports them as such.
        if request.GET.get("kind__exact") == Invoice.Kind.CREDIT_NOTE:
            return CREDIT_NOTES
        return INVOICES

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
        return obj is not None and obj.is_draft and not obj.being_numbered

    def get_urls(self):
        return [
            path(
                "<int:invoice_id>/pdf/",
                self.admin_site.admin_view(self.pdf_view),
                name="billing_invoice_pdf",
            ),
            path(
                "<int:invoice_id>/einvoice/<slug:file_format>/",
                self.admin_site.admin_view(self.einvoice_view),
                name="billing_invoice_einvoice",
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

    @admin.display(description=_("e-invoice"))
    def einvoice_panel(self, obj: Invoice) -> str:
        """Its files, and what the approved platform said of it, in order."""
        if obj.pk is None or obj.status == Invoice.Status.DRAFT:
            return _("A draft has no e-invoice: it is made once the document is issued.")
        links = einvoice_links(obj.pk)
        einvoice = (
            EInvoice.objects.defer("cii_xml", "ubl_xml", "facturx_pdf")
            .filter(invoice_id=obj.pk)
            .first()
        )
        if einvoice is None:
            return format_html(
                "<p>{}</p><p>{}</p>",
                _("Being made (the links make it now)."),
                links,
            )
        events = [
            (
                timezone.localtime(event.recorded_at).strftime("%Y-%m-%d %H:%M"),
                event.get_status_display(),
                event.reason or "—",
                event.platform_reference or "—",
                event.recorded_by or "—",
            )
            for event in einvoice.status_events.select_related("recorded_by")
        ]
        return format_html(
            "<p>{}</p><p><strong>{}</strong> {}{}</p>{}",
            links,
            _("Platform status:"),
            einvoice.get_status_display(),
            f" — {einvoice.status_reason}" if einvoice.status_reason else "",
            _table([_("recorded at"), _("status"), _("reason"), _("reference"), _("by")], events),
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
                    f"{line.tax_rate} % ({line.tax_category})",
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
            [
                _("VAT category"),
                _("tax rate"),
                _("taxable base"),
                _("tax amount"),
                _("exemption reason"),
            ],
            [
                (t.get_category_display(), f"{t.rate} %", t.base, t.tax, t.exemption_reason or "—")
                for t in obj.taxes.all()
            ],
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

    def einvoice_view(
        self, request: HttpRequest, invoice_id: int, file_format: str
    ) -> HttpResponse:
        invoice = get_object_or_404(Invoice, pk=invoice_id)
        if not self.has_view_permission(request, invoice):
            return HttpResponse(status=403)
        if file_format not in EINVOICE_FORMATS:
            raise Http404
        try:
            file = services.einvoice_file(invoice=invoice, file_format=file_format)
        except ApplicationError as refusal:
            self.message_user(request, refusal.message, messages.ERROR)
            return HttpResponseRedirect(reverse("admin:billing_invoice_change", args=[invoice.pk]))
        response = HttpResponse(file.content, content_type=file.content_type)
        response["Content-Disposition"] = f'attachment; filename="{file.filename}"'
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


def einvoice_links(invoice_id: int) -> str:
    """Factur-X · UBL · CII, each downloading the document's e-invoice in that format."""
    return format_html_join(
        " · ",
        '<a href="{}">{}</a>',
        (
            (reverse("admin:billing_invoice_einvoice", args=[invoice_id, name]), label)
            for name, label in (("facturx", "Factur-X"), ("ubl", "UBL"), ("cii", "CII"))
        ),
    )


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


def _catalog_values(field: str) -> list[tuple[str, str]]:
    """A line's ledger account or item type is copied from its product or its term."""
    values = (
        Product.objects.exclude(**{field: ""})
        .order_by()
        .values_list(field, flat=True)
        .union(Term.objects.exclude(**{field: ""}).order_by().values_list(field, flat=True))
    )
    return [(value, value) for value in sorted(values)]


def _tax_rates() -> list[tuple[str, str]]:
    """The rates of the tax rates table (a line's rate is copied from one), and 0 %."""
    rates = {rate.normalize() for rate in TaxRate.objects.values_list("rate", flat=True)}
    rates.add(Decimal("0"))
    return [(f"{rate:f}", f"{rate:f} %") for rate in sorted(rates)]


@admin.register(InvoiceLine)
class InvoiceLineAdmin(ExportAdminMixin, CadenceAdmin):
    """Lines across invoices, for accounting exports: ledger account, item type, charge."""

    export_dataset = INVOICE_LINES
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
    # The accounts, item types and rates the catalog gives lines, not a DISTINCT over the lines.
    list_filter = [
        "kind",
        ("ledger_account", known_values_filter(lambda: _catalog_values("ledger_account"))),
        ("invoice_item_type", known_values_filter(lambda: _catalog_values("invoice_item_type"))),
        ("tax_rate", known_values_filter(_tax_rates)),
    ]
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


class NumberClaimStateFilter(admin.SimpleListFilter):
    """What an operator looks for: claims a stopped run left, waiting or numbered."""

    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [
            ("waiting", _("waiting for its numbers")),
            ("numbered", _("numbered, not yet set on its documents")),
            ("issued", _("issued")),
        ]

    def queryset(self, request, queryset):
        match self.value():
            case "waiting":
                return queryset.filter(first_number__isnull=True)
            case "numbered":
                return queryset.filter(first_number__isnull=False, applied_at__isnull=True)
            case "issued":
                return queryset.filter(applied_at__isnull=False)
        return queryset


@admin.register(NumberClaim)
class NumberClaimAdmin(CadenceAdmin):
    """The register of the billing run's blocks of numbers: which block went to which documents,
    and when. A claim still waiting or not applied is a run stopped in its numbering; the next
    run (or billing.sweep) finishes it."""

    list_display = ["__str__", "day", "count", "state"]
    list_filter = [NumberClaimStateFilter, "series", "year"]
    ordering = ["-id"]
    show_full_result_count = False
    fields = [
        "series",
        "year",
        "day",
        "count",
        "state",
        "documents",
        "first_number",
        "created_at",
        "issued_at",
        "applied_at",
    ]
    # The first documents are linked; a run's claim holds up to a chunk of them.
    DOCUMENTS_SHOWN = 50

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    @admin.display(description=_("state"))
    def state(self, obj: NumberClaim) -> str:
        return obj.state

    @admin.display(description=_("documents"))
    def documents(self, obj: NumberClaim) -> str:
        shown = obj.invoice_ids[: self.DOCUMENTS_SHOWN]
        invoices = Invoice.objects.only("pk", "number", "status").in_bulk(shown)
        links = format_html_join(
            ", ",
            '<a href="{}">{}</a>',
            (
                (reverse("admin:billing_invoice_change", args=[pk]), invoices[pk])
                for pk in shown
                if pk in invoices
            ),
        )
        more = len(obj.invoice_ids) - len(shown)
        if more > 0:
            return format_html("{} {}", links, _("and %(count)s more") % {"count": more})
        return links

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # written by the numbering only: a hand edit could give a number twice

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Payment)
class PaymentAdmin(ExportAdminMixin, CadenceAdmin):
    export_dataset = PAYMENTS
    paginator = EstimatedCountPaginator
    list_display = ["invoice", "amount", "method", "received_on", "reference", "recorded_by"]
    list_filter = ["method", ("received_on", admin.DateFieldListFilter)]
    search_fields = ["invoice__number", "reference", "invoice__customer__name"]
    list_select_related = ["invoice", "recorded_by"]
    show_full_result_count = False  # no count(*) of every payment on each page

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Payment._meta.fields]

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # recorded through the service, then kept as recorded

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # recorded from the invoice ("Record a payment"), through the service

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class EInvoiceStatusEventInline(admin.TabularInline):
    """The platform's statuses, in order (append-only: nothing is edited here)."""

    model = EInvoiceStatusEvent
    extra = 0
    can_delete = False
    fields = ["recorded_at", "status", "reason", "platform_reference", "recorded_by"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("recorded_by")


@admin.register(EInvoice)
class EInvoiceAdmin(CadenceAdmin):
    """Read-only: made by billing.einvoices_generate, statuses recorded by the platform's
    connector (POST /api/v1/einvoices/{id}/status/)."""

    list_display = [
        "invoice_link",
        "kind",
        "issue_date",
        "status",
        "status_at",
        "platform_reference",
        "generated_at",
        "downloads",
    ]
    list_filter = ["status", "invoice__kind", ("invoice__issue_date", admin.DateFieldListFilter)]
    search_fields = ["invoice__number", "platform_reference"]
    list_select_related = ["invoice"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    fields = [
        "invoice_link",
        "downloads",
        "generated_at",
        "status",
        "status_reason",
        "platform_reference",
        "status_at",
    ]
    readonly_fields = fields
    inlines = [EInvoiceStatusEventInline]

    def get_queryset(self, request):
        # The files stay in the database: the pages read the rows' columns only.
        return super().get_queryset(request).defer("cii_xml", "ubl_xml", "facturx_pdf")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description=_("invoice"), ordering="invoice__number")
    def invoice_link(self, obj: EInvoice) -> str:
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:billing_invoice_change", args=[obj.invoice_id]),
            obj.invoice,
        )

    @admin.display(description=_("kind"), ordering="invoice__kind")
    def kind(self, obj: EInvoice) -> str:
        return obj.invoice.get_kind_display()

    @admin.display(description=_("issue date"), ordering="invoice__issue_date")
    def issue_date(self, obj: EInvoice):
        return obj.invoice.issue_date

    @admin.display(description=_("download"))
    def downloads(self, obj: EInvoice) -> str:
        return einvoice_links(obj.invoice_id)


from billing import admin_closing  # noqa: E402, F401
