"""The operators' pages for payment methods, refunds and customer credit. Every write goes
through payments.services; rows are then kept as written (no edit, no delete)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from billing.models import Invoice
from catalog.admin_base import CadenceAdmin, CadenceInline, application_error_to_form
from catalog.admin_filters import YearMonthFieldListFilter, known_values_filter
from core import clock
from core.errors import ApplicationError
from core.money import money_text
from payments import selectors, services
from payments.forms import (
    MANDATE_TEXT,
    EntryIgnoreForm,
    EntryMatchForm,
    RefundForm,
    SepaMandateForm,
    SepaReturnFileForm,
    SepaReturnForm,
    StatementUploadForm,
)
from payments.gateways import gateway_codes
from payments.models import (
    BankStatement,
    BankStatementEntry,
    CardPayment,
    CreditEntry,
    GatewayEvent,
    PaymentMethod,
    Refund,
    SepaBatch,
    SepaDebit,
)
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

    def has_operate_permission(self, request: HttpRequest) -> bool:
        return _may_operate(request, PaymentMethod)

    @admin.action(description=_("Make the default payment method"), permissions=["operate"])
    def make_default(self, request: HttpRequest, queryset) -> None:
        self.run_service(
            request,
            queryset,
            lambda method: services.payment_method_set_default(method=method),
            _("%(count)s payment method(s) made the default."),
        )

    @admin.action(description=_("Revoke"), permissions=["operate"])
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
        return obj.masked_iban or "—"

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

    def has_operate_permission(self, request: HttpRequest) -> bool:
        return _may_operate(request, Refund)

    @admin.action(description=_("Mark the transfers as paid"), permissions=["operate"])
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


# Card payments -------------------------------------------------------------------------------------


def _gateways() -> list[tuple[str, str]]:
    """The gateways configured (settings), not a DISTINCT over the payments or the events."""
    return [(code, code) for code in gateway_codes()]


@admin.register(CardPayment)
class CardPaymentAdmin(_ReadOnly):
    """Attempts to charge an invoice to a card, as the gateway answered and confirmed them."""

    list_display = [
        "created_at",
        "invoice",
        "card",
        "amount",
        "status",
        "failure_code",
        "off_session",
        "confirmed_on",
        "gateway",
        "provider_id",
    ]
    # By year and month from today (catalog.admin_filters): no MIN/MAX/DISTINCT over the rows.
    list_filter = [
        "status",
        ("gateway", known_values_filter(_gateways)),
        "off_session",
        ("created_on", YearMonthFieldListFilter),
    ]
    # A decline code is the gateway's own word (no list of them in the code): typed in the
    # search, exactly, rather than offered from a SELECT DISTINCT over every card payment.
    search_fields = ["invoice__number", "invoice__customer__name", "provider_id", "=failure_code"]
    search_help_text = _(
        "An invoice number, a customer's name, the gateway's id, or an exact decline code."
    )
    list_select_related = ["invoice"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # made by the portals, the API and dunning, through the gateway

    @admin.display(description=_("card"))
    def card(self, obj: CardPayment) -> str:
        return obj.card


@admin.register(GatewayEvent)
class GatewayEventAdmin(_ReadOnly):
    """The webhooks received from the gateways, once each, and what they did."""

    list_display = [
        "received_at",
        "gateway",
        "provider_event_id",
        "type",
        "provider_payment_id",
        "card_payment",
        "refund",
        "note",
        "processed_at",
    ]
    # An event's type is the gateway's word: searched exactly, not read DISTINCT from every event.
    list_filter = [("gateway", known_values_filter(_gateways))]
    search_fields = ["provider_event_id", "provider_payment_id", "provider_refund_id", "=type"]
    search_help_text = _("A gateway's event, payment or refund id, or an exact event type.")
    list_select_related = ["card_payment", "refund"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # written by the webhook endpoint


# Bank statements ---------------------------------------------------------------------------------

_ENTRY_COLUMNS = [
    "position",
    "booking_date",
    "direction",
    "amount",
    "debtor_name",
    "masked_debtor_iban",
    "structured_reference",
    "remittance_information",
    "status",
    "invoice",
    "note",
]


class BankStatementEntryInline(admin.TabularInline):
    model = BankStatementEntry
    fields = _ENTRY_COLUMNS
    readonly_fields = _ENTRY_COLUMNS
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).select_related("invoice")

    @admin.display(description=_("debtor's IBAN"))
    def masked_debtor_iban(self, obj: BankStatementEntry) -> str:
        return obj.masked_debtor_iban or "—"


@admin.register(BankStatement)
class BankStatementAdmin(_ReadOnly):
    list_display = [
        "statement_id",
        "account_iban",
        "period_start",
        "period_end",
        "imported_at",
        "imported_by",
        "matched",
        "unmatched",
        "ignored",
    ]
    list_filter = ["currency", "account_iban"]
    search_fields = ["statement_id", "file_name", "message_id"]
    list_select_related = ["imported_by"]
    inlines = [BankStatementEntryInline]

    # A month of a busy account holds thousands of entries: past this many, the statement's
    # page links to its entries' list (paginated, filterable) instead of showing them inline.
    inline_limit = 500

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "entries_link"]

    def get_inline_instances(self, request: HttpRequest, obj=None):
        if obj is not None and obj.entries.count() > self.inline_limit:
            return []
        return super().get_inline_instances(request, obj)

    @admin.display(description=_("entries"))
    def entries_link(self, obj: BankStatement) -> str:
        url = reverse("admin:payments_bankstatemententry_changelist")
        return format_html(
            '<a href="{}?status=all&statement__id__exact={}">{}</a>',
            url,
            obj.pk,
            _("All the entries of this statement"),
        )

    def get_queryset(self, request: HttpRequest):
        status = BankStatementEntry.Status
        return (
            super()
            .get_queryset(request)
            .annotate(
                matched_count=Count("entries", filter=Q(entries__status=status.MATCHED)),
                unmatched_count=Count("entries", filter=Q(entries__status=status.UNMATCHED)),
                ignored_count=Count("entries", filter=Q(entries__status=status.IGNORED)),
            )
        )

    @admin.display(description=_("matched"), ordering="matched_count")
    def matched(self, obj) -> int:
        return obj.matched_count

    @admin.display(description=_("unmatched"), ordering="unmatched_count")
    def unmatched(self, obj):
        if not obj.unmatched_count:
            return 0
        url = reverse("admin:payments_bankstatemententry_changelist")
        return format_html(
            '<a href="{}?status=unmatched&statement__id__exact={}">{}</a>',
            url,
            obj.pk,
            obj.unmatched_count,
        )

    @admin.display(description=_("ignored"), ordering="ignored_count")
    def ignored(self, obj) -> int:
        return obj.ignored_count

    def get_urls(self):
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="payments_bankstatement_import",
            ),
            *super().get_urls(),
        ]

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context=None):
        return HttpResponseRedirect(reverse("admin:payments_bankstatement_import"))

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request):
            return HttpResponse(status=403)
        form = StatementUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                statement = services.statement_import(
                    file=form.cleaned_data["file"], actor=request.user, day=clock.today()
                )
            except ApplicationError as error:
                application_error_to_form(form, error)
            else:
                counts = {
                    status: statement.entries.filter(status=status).count()
                    for status in BankStatementEntry.Status.values
                }
                self.message_user(
                    request,
                    _(
                        "Statement %(statement)s imported: %(matched)s matched, %(unmatched)s "
                        "to match by hand, %(ignored)s ignored."
                    )
                    % {"statement": statement.statement_id, **counts},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse("admin:payments_bankstatement_change", args=[statement.pk])
                )
        return _service_page(
            self,
            request,
            title=_("Import a bank statement"),
            intro=_(
                "Incoming transfers are matched to open invoices by their RF reference or "
                "invoice number, then by amount and customer; the others wait in the unmatched "
                "queue. A file is imported once."
            ),
            form=form,
            submit=_("Import"),
        )


class EntryStatusFilter(admin.SimpleListFilter):
    """The entries list opens on the unmatched queue; "all" shows every entry."""

    title = _("status")
    parameter_name = "status"
    default = BankStatementEntry.Status.UNMATCHED

    def lookups(self, request, model_admin):
        return [*BankStatementEntry.Status.choices, ("all", _("all"))]

    def choices(self, changelist):
        current = self.value() or self.default
        for value, label in self.lookup_choices:
            yield {
                "selected": current == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }

    def queryset(self, request, queryset):
        value = self.value() or self.default
        if value == "all":
            return queryset
        return queryset.filter(status=value)


@admin.register(BankStatementEntry)
class BankStatementEntryAdmin(_ReadOnly):
    """The unmatched queue by default (entries waiting for an operator), every entry with the
    status filter."""

    list_display = [
        "booking_date",
        "amount",
        "debtor_name",
        "masked_debtor_iban",
        "structured_reference",
        "remittance_information",
        "status",
        "invoice",
        "note",
        "handle",
    ]
    # By year and month from today (catalog.admin_filters): no MIN/MAX/DISTINCT over the rows.
    list_filter = [
        EntryStatusFilter,
        "currency",
        "direction",
        "statement",
        ("booking_date", YearMonthFieldListFilter),
    ]
    search_fields = [
        "debtor_name",
        "remittance_information",
        "structured_reference",
        "bank_reference",
        "invoice__number",
    ]
    list_select_related = ["invoice"]
    exclude = ["debtor_iban"]  # shown masked

    def get_readonly_fields(self, request, obj=None):
        fields = [f.name for f in self.model._meta.fields if f.name != "debtor_iban"]
        return [*fields, "masked_debtor_iban"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # written by the statement import

    @admin.display(description=_("debtor's IBAN"))
    def masked_debtor_iban(self, obj: BankStatementEntry) -> str:
        return obj.masked_debtor_iban or "—"

    @admin.display(description=_("handle"))
    def handle(self, obj: BankStatementEntry) -> str:
        if obj.status != BankStatementEntry.Status.UNMATCHED:
            return ""
        return format_html(
            '<a href="{}">{}</a> · <a href="{}">{}</a>',
            reverse("admin:payments_bankstatemententry_match", args=[obj.pk]),
            _("Match to an invoice"),
            reverse("admin:payments_bankstatemententry_ignore", args=[obj.pk]),
            _("Ignore"),
        )

    def get_urls(self):
        return [
            path(
                "<int:entry_id>/match/",
                self.admin_site.admin_view(self.match_view),
                name="payments_bankstatemententry_match",
            ),
            path(
                "<int:entry_id>/ignore/",
                self.admin_site.admin_view(self.ignore_view),
                name="payments_bankstatemententry_ignore",
            ),
            *super().get_urls(),
        ]

    def _may_handle(self, request: HttpRequest) -> bool:
        return request.user.has_perm("payments.change_bankstatemententry")

    def _entry_intro(self, entry: BankStatementEntry) -> str:
        return _("%(date)s: %(amount)s from %(debtor)s — “%(text)s”. %(note)s") % {
            "date": entry.booking_date.isoformat(),
            "amount": entry.amount,
            "debtor": entry.debtor_name or "?",
            "text": entry.structured_reference or entry.remittance_information,
            "note": entry.note,
        }

    def _done(self) -> HttpResponseRedirect:
        url = reverse("admin:payments_bankstatemententry_changelist")
        return HttpResponseRedirect(f"{url}?status=unmatched")

    def match_view(self, request: HttpRequest, entry_id: int) -> HttpResponse:
        if not self._may_handle(request):
            return HttpResponse(status=403)
        entry = get_object_or_404(BankStatementEntry, pk=entry_id)
        form = EntryMatchForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            invoice = selectors.invoice_by_number(form.cleaned_data["invoice"])
            if invoice is None:
                form.add_error("invoice", _("No invoice has this number."))
            else:
                try:
                    entry = services.statement_entry_match(
                        entry=entry, invoice=invoice, actor=request.user
                    )
                except ApplicationError as error:
                    application_error_to_form(form, error)
                else:
                    self.message_user(
                        request,
                        _("%(amount)s recorded as paid on %(number)s.")
                        % {"amount": entry.amount, "number": invoice.number},
                        messages.SUCCESS,
                    )
                    return self._done()
        return _service_page(
            self,
            request,
            title=_("Match a transfer to an invoice"),
            intro=self._entry_intro(entry),
            form=form,
            submit=_("Record the payment"),
        )

    def ignore_view(self, request: HttpRequest, entry_id: int) -> HttpResponse:
        if not self._may_handle(request):
            return HttpResponse(status=403)
        entry = get_object_or_404(BankStatementEntry, pk=entry_id)
        form = EntryIgnoreForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.statement_entry_ignore(
                    entry=entry, reason=form.cleaned_data["reason"], actor=request.user
                )
            except ApplicationError as error:
                application_error_to_form(form, error)
            else:
                self.message_user(request, _("The transfer is ignored."), messages.SUCCESS)
                return self._done()
        return _service_page(
            self,
            request,
            title=_("Ignore a transfer"),
            intro=self._entry_intro(entry),
            form=form,
            submit=_("Ignore it"),
        )


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
    if obj.status not in SepaDebit.LIVE:  # returned already, or cancelled with its batch
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
    actions = ["mark_submitted", "cancel"]
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
                "The bank's pain.002 status report or its camt.054 debit notification: each "
                "debit the file rejects or returns is marked returned with the bank's reason "
                "code; a collected one has its payment reversed. The whole file is applied, or "
                "nothing of it; imported twice, it changes nothing more."
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

    @admin.action(description=_("Cancel (not sent to the bank)"), permissions=["operate"])
    def cancel(self, request: HttpRequest, queryset) -> None:
        self.run_service(
            request,
            queryset,
            lambda batch: services.sepa_batch_cancel(batch=batch, actor=request.user),
            _("%(count)s batch(es) cancelled; their invoices go in the next batch."),
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


# The dunning pages live in their own module.
from payments import admin_dunning  # noqa: E402, F401
