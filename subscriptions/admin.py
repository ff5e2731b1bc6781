"""Customers and subscriptions in the admin.

A subscription is changed only through the services (the same ones as the portals and the API):
its form edits nothing but the PO reference; the actions mark fulfilled, cancel (after showing
the preview: effective date, penalty, rule), undo a cancellation, and bring it up to today. A
product contract held shows its ledger and issues, and consumes credits through the service.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from billing.services import subscription_invoice_now
from catalog.admin_base import (
    CadenceAdmin,
    CadenceInline,
    EstimatedCountPaginator,
    ServiceValidatedForm,
)
from catalog.admin_filters import country_options, known_values_filter, year_month_filter
from catalog.models import BillableMetric
from core import clock
from core.errors import ApplicationError
from partners.models import Partner, PartnerCustomer
from reports.admin_exports import ExportAdminMixin
from reports.exports.datasets import CUSTOMERS, SUBSCRIPTIONS
from subscriptions import services
from subscriptions.models import (
    Customer,
    CustomerUser,
    DeployedDevices,
    Subscription,
    SubscriptionContract,
    UsageEvent,
)


class PartnerFilter(admin.SimpleListFilter):
    title = _("partner")
    parameter_name = "partner"
    customer_path = "partner_link__partner"

    def lookups(self, request, model_admin):
        return [(str(p.pk), p.name) for p in Partner.objects.order_by("name")] + [
            ("none", _("direct (no partner)"))
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "none":
            return queryset.filter(**{f"{self.customer_path.rsplit('__', 1)[0]}__isnull": True})
        if value:
            return queryset.filter(**{f"{self.customer_path}_id": value})
        return queryset


class SubscriptionPartnerFilter(PartnerFilter):
    customer_path = "customer__partner_link__partner"


# Customers ------------------------------------------------------------------------------------------


class DeployedDevicesInline(CadenceInline):
    model = DeployedDevices
    fields = ["seat_type", "count"]
    autocomplete_fields = ["seat_type"]


class PartnerLinkInline(admin.StackedInline):
    model = PartnerCustomer
    fields = ["partner"]
    autocomplete_fields = ["partner"]
    extra = 0
    max_num = 1
    verbose_name = _("partner managing this customer")


class CustomerUserInline(admin.TabularInline):
    model = CustomerUser
    fields = ["user"]
    autocomplete_fields = ["user"]
    extra = 0
    verbose_name = _("self-service login")
    verbose_name_plural = _("self-service logins")


class CustomerForm(ServiceValidatedForm):
    class Meta:
        model = Customer
        fields = "__all__"

    def clean_country(self) -> str:
        return (self.cleaned_data.get("country") or "").strip().upper()


@admin.register(Customer)
class CustomerAdmin(ExportAdminMixin, CadenceAdmin):
    export_dataset = CUSTOMERS
    paginator = EstimatedCountPaginator
    form = CustomerForm
    list_display = [
        "name",
        "email",
        "country",
        "currency",
        "locale",
        "partner",
        "subscription_count",
        "created_at",
    ]
    # The countries are ISO's, not a DISTINCT over the customers (catalog.admin_filters).
    list_filter = [
        PartnerFilter,
        ("country", known_values_filter(country_options)),
        "currency",
        "locale",
        "payment_type",
    ]
    search_fields = ["name", "email", "vat_number", "registration_number", "city"]
    list_select_related = ["partner_link__partner"]
    show_full_result_count = False  # no count(*) of every customer on each page
    inlines = [PartnerLinkInline, DeployedDevicesInline, CustomerUserInline]
    fieldsets = [
        (None, {"fields": ["name", "email", "phone", "locale"]}),
        (
            _("Billing"),
            {
                "fields": [
                    "currency",
                    "payment_type",
                    "vat_number",
                    "registration_number",
                    "payment_methods",
                ]
            },
        ),
        (
            _("Billing address"),
            {"fields": ["address_line1", "address_line2", ("postal_code", "city"), "country"]},
        ),
    ]

    readonly_fields = ["payment_methods"]

    def get_queryset(self, request: HttpRequest):
        # Counted per customer shown, by a subquery: a COUNT over a join of every customer with
        # every subscription, grouped, was computed for the whole table before the page's LIMIT.
        counted = (
            Subscription.objects.filter(customer=OuterRef("pk"))
            .order_by()
            .values("customer")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return super().get_queryset(request).annotate(_subscriptions=Coalesce(Subquery(counted), 0))

    @admin.display(description=_("payment methods"))
    def payment_methods(self, obj: Customer) -> str:
        if obj.pk is None:
            return "—"
        listed = (
            reverse("admin:payments_paymentmethod_changelist") + f"?customer__id__exact={obj.pk}"
        )
        return format_html(
            '<a href="{}">{}</a> · <a href="{}">{}</a>',
            listed,
            _("see them"),
            reverse("admin:payments_paymentmethod_mandate", args=[obj.pk]),
            _("add a SEPA mandate"),
        )

    @admin.display(description=_("partner"), ordering="partner_link__partner__name")
    def partner(self, obj: Customer) -> str:
        link = getattr(obj, "partner_link", None)
        return link.partner.name if link else "—"

    @admin.display(description=_("subscriptions"), ordering="_subscriptions")
    def subscription_count(self, obj: Customer) -> str:
        url = (
            reverse("admin:subscriptions_subscription_changelist")
            + f"?customer__id__exact={obj.pk}"
        )
        return format_html('<a href="{}">{}</a>', url, obj._subscriptions)

    def save_model(self, request, obj, form, change):
        fields = {
            name: form.cleaned_data[name]
            for name in form.changed_data
            if name in services.CUSTOMER_FIELDS
        }
        if change:
            customer = services.customer_update(customer=Customer.objects.get(pk=obj.pk), **fields)
        else:
            customer = services.customer_create(
                **{
                    name: form.cleaned_data[name]
                    for name in form.cleaned_data
                    if name in services.CUSTOMER_FIELDS
                }
            )
        obj.pk = customer.pk


# Subscriptions --------------------------------------------------------------------------------------


def _table(headers: list[str], rows: list[list[object]], empty: str) -> str:
    if not rows:
        return empty
    head = format_html_join("", '<th scope="col">{}</th>', ((h,) for h in headers))
    body = format_html_join(
        "",
        "<tr>{}</tr>",
        (
            (
                format_html_join(
                    "", "<td>{}</td>", ((cell if cell not in (None, "") else "—",) for cell in row)
                ),
            )
            for row in rows
        ),
    )
    return format_html(
        '<table class="cadence-table"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>',
        head,
        body,
    )


class PendingFulfilmentFilter(admin.SimpleListFilter):
    title = _("pending fulfilment")
    parameter_name = "pending"

    def lookups(self, request, model_admin):
        return [("yes", _("creation or plan change waiting"))]

    def queryset(self, request, queryset):
        if self.value() != "yes":
            return queryset
        return queryset.filter(
            Q(status=Subscription.Status.PENDING_FULFILMENT) | Q(pending_plan__isnull=False)
        )


class SuspendedFilter(admin.SimpleListFilter):
    title = _("suspension")
    parameter_name = "suspended"

    def lookups(self, request, model_admin):
        return [("yes", _("suspended for non-payment")), ("no", _("not suspended"))]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(suspended_since__isnull=self.value() == "no")
        return queryset


@admin.register(Subscription)
class SubscriptionAdmin(ExportAdminMixin, CadenceAdmin):
    export_dataset = SUBSCRIPTIONS
    paginator = EstimatedCountPaginator
    list_display = [
        "id",
        "customer",
        "plan",
        "status",
        "suspended_since",
        "partner",
        "current_period_start",
        "current_period_end",
        "renewal_date",
        "next_billing_date",
        "po_reference",
    ]
    list_filter = [
        "status",
        PendingFulfilmentFilter,
        SuspendedFilter,
        "plan",
        SubscriptionPartnerFilter,
        # By year and month from today, renewals lying ahead: the date hierarchy read the MIN,
        # MAX and DISTINCT renewal dates of every subscription on each page.
        ("renewal_date", year_month_filter(years_before=2, years_after=5)),
        ("renewal_date", admin.DateFieldListFilter),
        "auto_renew",
    ]
    search_fields = ["=id", "customer__name", "customer__email", "po_reference", "plan__code"]
    list_select_related = ["customer__partner_link__partner", "plan"]
    show_full_result_count = False  # no count(*) over every subscription on each page
    actions = [
        "mark_fulfilled",
        "cancel_with_preview",
        "undo_cancellation",
        "withdraw_plan_change",
        "renew_now",
        "reactivate",
    ]
    fieldsets = [
        (None, {"fields": ["customer", "plan", "pending_plan", "status", "po_reference"]}),
        (_("Dunning"), {"fields": [("suspended_since", "invoicing_held")]}),
        (
            _("Dates"),
            {
                "fields": [
                    ("start_date", "anchor_date", "trial_end"),
                    ("current_period_start", "current_period_end"),
                    ("commitment_start", "commitment_end"),
                    ("renewal_date", "end_date", "next_billing_date"),
                ]
            },
        ),
        (_("Terms"), {"fields": ["term", "auto_renew", "service_period_years", "currency"]}),
        (
            _("Seats, items and discounts"),
            {"fields": ["seats_table", "items_table", "discounts_table", "contracts_table"]},
        ),
        (_("Timeline (every change with its effective date)"), {"fields": ["timeline_table"]}),
    ]
    readonly_fields = [
        "pending_plan",
        "seats_table",
        "items_table",
        "discounts_table",
        "contracts_table",
        "timeline_table",
        "customer",
        "plan",
        "status",
        "start_date",
        "anchor_date",
        "trial_end",
        "current_period_start",
        "current_period_end",
        "commitment_start",
        "commitment_end",
        "renewal_date",
        "end_date",
        "next_billing_date",
        "term",
        "auto_renew",
        "service_period_years",
        "currency",
        "suspended_since",
        "invoicing_held",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # subscriptions are sold through the portals and the API, by the services

    # Read-only tables of the change page ----------------------------------------------------------

    @admin.display(description=_("seats"))
    def seats_table(self, obj: Subscription) -> str:
        rows = [
            [seat.seat_type.display_name, seat.quantity, seat.scheduled_quantity]
            for seat in obj.seats.select_related("seat_type")
        ]
        return _table([_("seat type"), _("seats"), _("from the renewal")], rows, _("no seats"))

    @admin.display(description=_("options and add-ons"))
    def items_table(self, obj: Subscription) -> str:
        rows = [
            [item.get_kind_display(), item.product or item.bundle, item.quantity]
            for item in obj.items.select_related("product", "bundle")
        ]
        return _table([_("kind"), _("what"), _("quantity")], rows, _("none"))

    @admin.display(description=_("discounts"))
    def discounts_table(self, obj: Subscription) -> str:
        rows = [
            [
                d.display_label,
                d.get_source_display(),
                f"{d.percentage.normalize():f} %" if d.percentage is not None else d.amount,
                d.sequence,
                d.first_period_start,
                d.periods or _("every period"),
                d.last_period_start,
            ]
            for d in obj.discounts.all()
        ]
        return _table(
            [
                _("label"),
                _("source"),
                _("value"),
                _("order"),
                _("from"),
                _("periods"),
                _("until (excluded)"),
            ],
            rows,
            _("none"),
        )

    @admin.display(description=_("product contracts"))
    def contracts_table(self, obj: Subscription) -> str:
        rows = [
            [
                format_html(
                    '<a href="{}">{}</a>',
                    reverse("admin:subscriptions_subscriptioncontract_change", args=[held.pk]),
                    held.contract,
                ),
                held.start_date,
                held.end_date,
                held.get_status_display(),
                held.quantity,
            ]
            for held in obj.contracts.select_related("contract")
        ]
        return _table(
            [_("contract"), _("start"), _("end"), _("status"), _("quantity")], rows, _("none")
        )

    @admin.display(description=_("timeline"))
    def timeline_table(self, obj: Subscription) -> str:
        today = clock.today()
        rows = []
        for event in obj.events.select_related("actor", "revoked_by").order_by(
            "effective_date", "id"
        ):
            details = ", ".join(
                f"{k}: {v}" for k, v in event.data.items() if v not in (None, "", {}, [])
            )
            revoked = (
                _("undone on %(date)s") % {"date": event.revoked_by.effective_date.isoformat()}
                if event.revoked_by_id
                else ""
            )
            rows.append(
                [
                    event.effective_date.isoformat(),
                    _("scheduled") if event.is_scheduled(today) else _("past"),
                    event.get_kind_display(),
                    details,
                    event.channel,
                    event.actor,
                    event.recorded_at,
                    revoked,
                ]
            )
        return _table(
            [
                _("effective"),
                _("when"),
                _("change"),
                _("details"),
                _("channel"),
                _("by"),
                _("recorded"),
                _("revoked"),
            ],
            rows,
            _("empty"),
        )

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # a subscription is cancelled, never deleted: its timeline is the audit

    @admin.display(description=_("partner"), ordering="customer__partner_link__partner__name")
    def partner(self, obj: Subscription) -> str:
        link = getattr(obj.customer, "partner_link", None)
        return link.partner.name if link else "—"

    def save_model(self, request, obj, form, change):
        if "po_reference" in form.changed_data:
            try:
                services.subscription_set_po_reference(
                    subscription=obj,
                    po_reference=form.cleaned_data["po_reference"],
                    today=clock.today(),
                    actor=request.user,
                    channel="admin",
                )
            except ApplicationError as error:
                self.message_user(request, error.message, level=messages.ERROR)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.service_validator = staticmethod(
            lambda subscription: services.check_po(po_reference=subscription.po_reference)
        )
        return form

    # Actions ------------------------------------------------------------------------------------

    @admin.action(description=_("Mark fulfilled"))
    def mark_fulfilled(self, request: HttpRequest, queryset):
        today = clock.today()
        issued = []

        def fulfil(subscription: Subscription) -> None:
            # Billing starts now: its first invoice is issued with the fulfilment, and linked.
            with transaction.atomic():
                result = services.subscription_fulfil(
                    subscription=subscription, today=today, actor=request.user
                )
                issued.extend(subscription_invoice_now(subscription=result.subscription, day=today))

        self.run_service(request, queryset, fulfil, _("%(count)s subscription(s) fulfilled."))
        if issued:
            links = format_html_join(
                ", ",
                '<a href="{}">{}</a>',
                ((reverse("admin:billing_invoice_change", args=[i.pk]), i.number) for i in issued),
            )
            self.message_user(
                request, format_html("{} {}", _("Invoiced at once:"), links), messages.SUCCESS
            )

    @admin.action(description=_("Cancel… (shows the effective date and penalty first)"))
    def cancel_with_preview(self, request: HttpRequest, queryset) -> HttpResponse | None:
        today = clock.today()
        if request.POST.get("confirm") == "yes":
            self.run_service(
                request,
                queryset,
                lambda s: services.subscription_cancel(
                    subscription=s, today=today, actor=request.user, channel="admin"
                ),
                _("%(count)s cancellation(s) recorded."),
            )
            return None
        rows = []
        for subscription in queryset.select_related("customer", "plan", "term"):
            try:
                quote = services.cancellation_quote(subscription=subscription, today=today)
                error = None
            except ApplicationError as refusal:
                quote, error = None, refusal.message
            if subscription.status in (Subscription.Status.CANCELLED, Subscription.Status.ENDED):
                quote, error = None, _("already ended")
            elif subscription.status == Subscription.Status.PENDING_CANCELLATION:
                quote, error = (
                    None,
                    _("a cancellation is already scheduled for %(date)s")
                    % {"date": subscription.end_date.isoformat()},
                )
            rows.append({"subscription": subscription, "quote": quote, "error": error})
        context = {
            **self.admin_site.each_context(request),
            "title": _("Cancel subscriptions"),
            "opts": self.model._meta,
            "rows": rows,
            "today": today,
            "queryset": queryset,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/subscriptions/cancel_preview.html", context)

    @admin.action(description=_("Undo the cancellation"))
    def undo_cancellation(self, request: HttpRequest, queryset):
        today = clock.today()
        self.run_service(
            request,
            queryset,
            lambda s: services.subscription_undo_cancellation(
                subscription=s, today=today, actor=request.user, channel="admin"
            ),
            _("%(count)s cancellation(s) undone."),
        )

    @admin.action(description=_("Reactivate: lift the suspension for non-payment"))
    def reactivate(self, request: HttpRequest, queryset):
        today = clock.today()
        self.run_service(
            request,
            queryset,
            lambda s: services.subscription_reactivate(
                subscription=s,
                day=today,
                reason=_("Reactivated by an operator"),
                actor=request.user,
                channel="admin",
            ),
            _("%(count)s subscription(s) reactivated."),
        )

    @admin.action(description=_("Withdraw the scheduled plan change"))
    def withdraw_plan_change(self, request: HttpRequest, queryset):
        today = clock.today()
        self.run_service(
            request,
            queryset,
            lambda s: services.subscription_withdraw_plan_change(
                subscription=s, today=today, actor=request.user, channel="admin"
            ),
            _("%(count)s plan change(s) withdrawn."),
        )

    @admin.action(description=_("Renew now: apply the renewals and ends due by today"))
    def renew_now(self, request: HttpRequest, queryset):
        today = clock.today()
        self.run_service(
            request,
            queryset,
            lambda s: services.subscription_advance(subscription=s, today=today),
            _("%(count)s subscription(s) brought up to today."),
        )


class SubscriptionContractForm(forms.ModelForm):
    """Nothing of the contract is edited here: credits are consumed through the service."""

    consume = forms.DecimalField(
        label=_("credits to consume"),
        required=False,
        max_digits=12,
        decimal_places=2,
        help_text=_("Refused beyond the balance; nothing is written then."),
    )
    reference = forms.CharField(label=_("reference"), required=False, max_length=100)

    class Meta:
        model = SubscriptionContract
        fields: list[str] = []


@admin.register(SubscriptionContract)
class SubscriptionContractAdmin(CadenceAdmin):
    """The product contracts held: status, dates, issues and the credit ledger; credits are
    consumed here (the same service as the API)."""

    form = SubscriptionContractForm
    list_display = ["__str__", "subscription", "contract", "status", "start_date", "end_date"]
    list_filter = ["status", "contract__kind"]
    list_select_related = ["contract", "subscription__customer", "subscription__plan"]
    search_fields = ["contract__code", "subscription__customer__name"]
    readonly_fields = [
        "subscription",
        "contract",
        "status",
        "start_date",
        "end_date",
        "quantity",
        "balance",
        "ledger_table",
        "issues_table",
    ]
    fieldsets = [
        (None, {"fields": ["subscription", "contract", "status", "start_date", "end_date"]}),
        (_("credits"), {"fields": ["balance", "consume", "reference", "ledger_table"]}),
        (_("issues"), {"fields": ["issues_table"]}),
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # added by selling an offer (or subscription_contract_add)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description=_("credits left"))
    def balance(self, obj: SubscriptionContract) -> str:
        if obj.contract.kind != "credit":
            return "—"
        return f"{services.credit_balance(subscription_contract=obj):.2f}"

    @admin.display(description=_("credit ledger"))
    def ledger_table(self, obj: SubscriptionContract) -> str:
        rows = [
            [e.day, e.get_kind_display(), f"{e.amount:.2f}", e.reference]
            for e in obj.credits.order_by("day", "id")
        ]
        return _table([_("date"), _("kind"), _("credits"), _("reference")], rows, _("none"))

    @admin.display(description=_("scheduled issues"))
    def issues_table(self, obj: SubscriptionContract) -> str:
        rows = [
            [
                i.period_start,
                i.number,
                i.issue_date,
                _("yes") if i.chargeable else _("free"),
                _("cancelled") if i.cancelled else "",
            ]
            for i in obj.issues.order_by("issue_date", "number")
        ]
        return _table(
            [_("period"), _("issue"), _("date"), _("chargeable"), _("cancelled")], rows, _("none")
        )

    def save_model(self, request, obj, form, change):
        amount = form.cleaned_data.get("consume")
        if not amount:
            return
        try:
            services.credits_consume(
                subscription_contract=obj,
                amount=amount,
                day=clock.today(),
                reference=form.cleaned_data.get("reference") or "",
            )
        except ApplicationError as error:
            self.message_user(request, error.message, level=messages.ERROR)
        else:
            self.message_user(
                request,
                _("%(amount)s credits consumed.") % {"amount": f"{amount:.2f}"},
                messages.SUCCESS,
            )


class EventCodeFilter(admin.SimpleListFilter):
    """The event codes the metrics count (from the metrics, a small table: a DISTINCT over the
    events would read them all)."""

    title = _("event code")
    parameter_name = "code"

    def lookups(self, request: HttpRequest, model_admin) -> list[tuple[str, str]]:
        codes = BillableMetric.objects.order_by("event_code").values_list("event_code", flat=True)
        return [(code, code) for code in dict.fromkeys(codes)]

    def queryset(self, request: HttpRequest, queryset):
        return queryset.filter(code=self.value()) if self.value() else queryset


@admin.register(UsageEvent)
class UsageEventAdmin(CadenceAdmin):
    """Usage events as received (billing-rules §12), read-only: they are recorded by the API
    (subscriptions.services.usage_events_record) and corrected, if ever, by new events."""

    list_display = [
        "id",
        "code",
        "customer",
        "subscription_id",
        "transaction_id",
        "timestamp",
        "counted_at",
        "received_at",
    ]
    list_filter = [EventCodeFilter]
    # Exact transaction id (the unique index is per customer), or the customer's name.
    search_fields = ["=transaction_id", "customer__name"]
    search_help_text = _("An exact transaction id, or a customer's name.")
    list_select_related = ["customer"]
    # By id, which is indexed, and counted by the planner's estimate: millions of rows.
    ordering = ["-id"]
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    readonly_fields = [
        "customer",
        "subscription",
        "transaction_id",
        "code",
        "timestamp",
        "counted_at",
        "properties",
        "received_at",
    ]
    fields = readonly_fields
    raw_id_fields = ["customer", "subscription"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
