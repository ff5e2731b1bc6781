"""What was sold: customers, subscriptions, their seats, discounts and the timeline of changes.

The timeline (SubscriptionEvent) is the truth: every change with its effective date, past or
scheduled. Billing derives charges from it (subscriptions/timeline.py folds it into the state of
any date). The other rows of a subscription — status, plan, current period, seats — are a cache
of that fold for today, kept by the services and the daily advance job, for pages and lists.
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from catalog.models import (
    Bundle,
    CouponCode,
    PaymentType,
    Plan,
    Product,
    ProductContract,
    SeatType,
    Term,
    currency_field,
    money_field,
)
from core.identifiers import InvalidIdentifier, registration_clean, vat_number_clean
from core.periods import Period

LANGUAGE_CHOICES = settings.LANGUAGES


class Customer(models.Model):
    """An organisation that buys subscriptions, directly or through a partner."""

    name = models.CharField(_("organisation name"), max_length=200)
    registration_number = models.CharField(_("registration number"), max_length=40, blank=True)
    vat_number = models.CharField(_("VAT number"), max_length=40, blank=True)
    email = models.EmailField(_("billing email"))
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    address_line1 = models.CharField(_("address"), max_length=200)
    address_line2 = models.CharField(_("address (continued)"), max_length=200, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20)
    city = models.CharField(_("city"), max_length=100)
    country = models.CharField(_("country"), max_length=2, help_text=_("ISO 3166 code, e.g. FR"))
    locale = models.CharField(_("language"), max_length=5, choices=LANGUAGE_CHOICES, default="en")
    currency = currency_field()
    payment_type = models.CharField(
        _("payment type"),
        max_length=16,
        choices=PaymentType.choices,
        default=PaymentType.BANK_TRANSFER,
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["name"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(country__regex=r"^[A-Z]{2}$"),
                name="customer_country_iso",
                violation_error_message=_(
                    "The country is a two-letter ISO code in capitals, e.g. FR."
                ),
            )
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """The VAT number (any country python-stdnum knows) and, in France, the SIREN or SIRET
        are checked by their check digits and kept compact: the tax of every invoice depends
        on the first (billing-rules §10), and e-invoices carry both (EN 16931 BT-47, BT-48)."""
        errors = {}
        self.country = (self.country or "").strip().upper()
        try:
            self.vat_number = vat_number_clean(self.vat_number, self.country)
        except InvalidIdentifier as error:
            errors["vat_number"] = str(error)
        try:
            self.registration_number = registration_clean(self.registration_number, self.country)
        except InvalidIdentifier as error:
            errors["registration_number"] = str(error)
        if errors:
            raise ValidationError(errors)

    @property
    def billing_address(self) -> str:
        lines = [
            self.address_line1,
            self.address_line2,
            f"{self.postal_code} {self.city}",
            self.country,
        ]
        return "\n".join(line for line in lines if line)


class CustomerUser(models.Model):
    """A login of a customer's self-service pages."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="users")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="customer_membership"
    )

    class Meta:
        verbose_name = _("customer user")
        verbose_name_plural = _("customer users")

    def __str__(self) -> str:
        return f"{self.user} @ {self.customer}"


class CustomerEvent(models.Model):
    """What happened to a customer record, appended by the services in the transaction of the
    change: the outbox of the `customer.*` webhooks (integrations.services)."""

    class Kind(models.TextChoices):
        CREATED = "created", _("customer created")

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="events"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    channel = models.CharField(_("channel"), max_length=20, blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("customer event")
        verbose_name_plural = _("customer events")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.kind}"


class DeployedDevices(models.Model):
    """How many devices of a seat type the customer has installed: seats never go below it."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="devices")
    seat_type = models.ForeignKey(SeatType, on_delete=models.PROTECT, verbose_name=_("seat type"))
    count = models.PositiveIntegerField(_("devices deployed"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("deployed devices")
        verbose_name_plural = _("deployed devices")
        ordering = ["customer", "seat_type__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "seat_type"],
                name="devices_unique_per_type",
                violation_error_message=_("This customer already has a count for this seat type."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.seat_type.code}: {self.count}"


class Subscription(models.Model):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled", pgettext_lazy("subscription status", "scheduled")
        PENDING_FULFILMENT = (
            "pending_fulfilment",
            pgettext_lazy("subscription status", "pending fulfilment"),
        )
        TRIAL = "trial", pgettext_lazy("subscription status", "trial")
        ACTIVE = "active", pgettext_lazy("subscription status", "active")
        PENDING_CANCELLATION = (
            "pending_cancellation",
            pgettext_lazy("subscription status", "pending cancellation"),
        )
        CANCELLED = "cancelled", pgettext_lazy("subscription status", "cancelled")
        ENDED = "ended", pgettext_lazy("subscription status", "ended")

    LIVE_STATUSES = (
        Status.SCHEDULED,
        Status.PENDING_FULFILMENT,
        Status.TRIAL,
        Status.ACTIVE,
        Status.PENDING_CANCELLATION,
    )

    # Indexes here are paid on every billing period (the run updates each subscription):
    # only those a query needs. The customer is indexed by (customer, status).
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="subscriptions",
        db_index=False,
    )
    # Who is invoiced (billing-rules §9): empty, the customer itself; set, the account that bought
    # it for the customer — a partner's billing account. Its invoices are the partner's, at the
    # partner's price; the customer sees the subscription read-only, never that price.
    bill_to = models.ForeignKey(
        Customer,
        verbose_name=_("invoiced to"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="billed_subscriptions",
        db_index=False,  # indexed where set only (Meta)
        help_text=_("Empty: the customer itself. Set: the partner that sold it (its account)."),
    )
    plan = models.ForeignKey(
        Plan, verbose_name=_("plan"), on_delete=models.PROTECT, related_name="subscriptions"
    )
    pending_plan = models.ForeignKey(
        Plan,
        verbose_name=_("plan change pending fulfilment"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # indexed where set only (Meta)
    )
    term = models.ForeignKey(
        Term,
        verbose_name=_("current term"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="subscriptions",
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices)
    currency = currency_field()
    start_date = models.DateField(_("start date"))
    anchor_date = models.DateField(
        _("billing anchor"),
        null=True,
        blank=True,
        help_text=_("Billing periods are counted from it; it never changes once set."),
    )
    trial_end = models.DateField(_("trial end"), null=True, blank=True)
    current_period_start = models.DateField(_("current period start"), null=True, blank=True)
    current_period_end = models.DateField(_("current period end"), null=True, blank=True)
    commitment_start = models.DateField(_("commitment start"), null=True, blank=True)
    commitment_end = models.DateField(_("commitment end"), null=True, blank=True)
    renewal_date = models.DateField(_("renewal date"), null=True, blank=True, db_index=True)
    end_date = models.DateField(
        _("end date"),
        null=True,
        blank=True,
        help_text=_("When a cancellation or the end takes effect."),
    )
    next_billing_date = models.DateField(
        _("next billing date"),
        null=True,
        blank=True,
        db_index=True,
        help_text=_("Start of the next period to invoice (kept by billing)."),
    )
    auto_renew = models.BooleanField(_("auto-renew"), default=True)
    # Dunning (payments): suspended for an unpaid invoice, on top of the status — a suspended
    # subscription keeps its term, renewal and notice; what it loses is access (entitlements),
    # and its invoicing is held when the dunning policy says so.
    suspended_since = models.DateField(
        _("suspended since"),
        null=True,
        blank=True,
        help_text=_("Suspended for non-payment: access is off until the overdue invoice is paid."),
    )
    # While suspended, the billing run leaves it alone when the dunning policy holds invoicing:
    # the periods are invoiced when it is reactivated (held, not forgiven).
    invoicing_held = models.BooleanField(_("invoicing held"), default=False)
    po_reference = models.CharField(_("PO reference"), max_length=35, blank=True)
    service_period_years = models.PositiveSmallIntegerField(
        _("service period (years)"), null=True, blank=True
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    # The current period and the next billing date are the run's cursors, derived from the
    # anchor, the timeline and the invoices: not changes anyone makes. Audited, they gave every
    # subscription a history row on every billing date (1.2 million a year at 100,000 monthly
    # subscriptions), among which the changes people make were hard to find.
    history = HistoricalRecords(
        excluded_fields=["next_billing_date", "current_period_start", "current_period_end"]
    )
    # django-simple-history's switches for the next save(), set on the instance (declared for
    # the type checker only: no class attribute, simple-history tests them with hasattr).
    skip_history_when_saving: bool
    _change_reason: str

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["customer", "status"]),
            # Not db_index=True, which adds a LIKE index on PostgreSQL that no query uses.
            models.Index(fields=["status"], name="subscription_status"),
            models.Index(
                fields=["pending_plan"],
                condition=Q(pending_plan__isnull=False),
                name="subscription_pending_plan",
            ),
            models.Index(
                fields=["bill_to"],
                condition=Q(bill_to__isnull=False),
                name="subscription_bill_to",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(anchor_date__isnull=True) | Q(anchor_date__gte=models.F("start_date")),
                name="subscription_anchor_after_start",
                violation_error_message=_("The billing anchor cannot be before the start date."),
            ),
            models.CheckConstraint(
                condition=Q(commitment_end__isnull=True)
                | Q(commitment_end__gt=models.F("commitment_start")),
                name="subscription_commitment_order",
                violation_error_message=_("The commitment must end after it starts."),
            ),
            models.CheckConstraint(
                condition=Q(service_period_years__isnull=True) | Q(service_period_years__gte=1),
                name="subscription_service_period_positive",
                violation_error_message=_("A service period lasts at least one year."),
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.customer} — {self.plan.code}"

    @property
    def billing_period(self) -> Period:
        return self.plan.billing_period

    @property
    def is_live(self) -> bool:
        return self.status in self.LIVE_STATUSES

    # Suspension (dunning) is shown as the status, over the lifecycle status it keeps: a
    # suspended subscription still renews, ends or waits for its cancellation date.
    SUSPENDED = "suspended"
    SUSPENDED_LABEL = pgettext_lazy("subscription status", "suspended")
    # The statuses shown (portals, API): the lifecycle's and "suspended".
    SHOWN_STATUSES = [*Status.choices, (SUSPENDED, SUSPENDED_LABEL)]

    @property
    def shown_status(self) -> str:
        return self.SUSPENDED if self.suspended_since else self.status

    def get_shown_status_display(self) -> str:
        return str(self.SUSPENDED_LABEL) if self.suspended_since else self.get_status_display()

    @property
    def has_access(self) -> bool:
        """What the customer may use now: live and not suspended for non-payment (entitlements
        follow it)."""
        return self.is_live and self.suspended_since is None

    @property
    def billed_customer(self) -> Customer:
        """The party its invoices are addressed to (the customer, or its partner's account)."""
        return self.bill_to if self.bill_to_id else self.customer

    @property
    def is_managed(self) -> bool:
        """Bought for the customer by someone else (its partner): the customer only reads it."""
        return self.bill_to_id is not None


class SubscriptionSeat(models.Model):
    """Seats of a type on a subscription today (cache of the timeline), and any reduction
    scheduled for the renewal."""

    # Indexed by the (subscription, seat type) constraint.
    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="seats", db_index=False
    )
    seat_type = models.ForeignKey(SeatType, on_delete=models.PROTECT, verbose_name=_("seat type"))
    quantity = models.PositiveIntegerField(_("seats"))
    scheduled_quantity = models.PositiveIntegerField(
        _("seats from the renewal"),
        null=True,
        blank=True,
        help_text=_("A reduction waiting for the renewal."),
    )

    class Meta:
        verbose_name = _("seats")
        verbose_name_plural = _("seats")
        ordering = ["subscription", "seat_type__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "seat_type"], name="seat_unique_per_type"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.seat_type.code}: {self.quantity}"


class SubscriptionItem(models.Model):
    """A chosen optional product, or an add-on bundle, on a subscription (cache of the timeline)."""

    class Kind(models.TextChoices):
        OPTION = "option", _("optional product")
        ADDON = "addon", _("add-on bundle")

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="items")
    kind = models.CharField(_("kind"), max_length=6, choices=Kind.choices)
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("product")
    )
    bundle = models.ForeignKey(
        Bundle, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("bundle")
    )
    quantity = models.PositiveIntegerField(_("quantity"), default=1)

    class Meta:
        verbose_name = _("subscription item")
        verbose_name_plural = _("subscription items")
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="option", product__isnull=False, bundle__isnull=True)
                | Q(kind="addon", product__isnull=True, bundle__isnull=False),
                name="item_option_or_addon",
            ),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="item_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.product or self.bundle} × {self.quantity}"


class SubscriptionEvent(models.Model):
    """One entry of a subscription's timeline. Entries are appended, never edited: the only
    change ever made to a row is marking a still-future entry as revoked (an undone
    cancellation, a withdrawn plan change), by the entry that revokes it."""

    class Kind(models.TextChoices):
        CREATED = "created", _("subscription started")
        TRIAL_ENDS = "trial_ends", _("trial ends")
        FULFILLED = "fulfilled", _("fulfilled")
        SEATS_ADDED = "seats_added", _("seats added")
        SEATS_REDUCED = "seats_reduced", _("seat reduction")
        PLAN_CHANGE_REQUESTED = "plan_change_requested", _("plan change requested")
        PLAN_CHANGED = "plan_changed", _("plan changed")
        PLAN_CHANGE_WITHDRAWN = "plan_change_withdrawn", _("plan change withdrawn")
        ADDON_ADDED = "addon_added", _("add-on added")
        CANCELLATION = "cancellation", _("cancellation")
        CANCELLATION_UNDONE = "cancellation_undone", _("cancellation undone")
        RENEWED = "renewed", _("renewed")
        ENDED = "ended", _("ended")
        COUPON_REDEEMED = "coupon_redeemed", _("coupon redeemed")
        VOUCHER_REDEEMED = "voucher_redeemed", _("voucher redeemed")
        PO_REFERENCE = "po_reference", _("PO reference changed")
        CONTRACT_ADDED = "contract_added", _("product contract added")
        CONTRACT_STARTED = "contract_started", _("product contract started")
        CONTRACT_ENDED = "contract_ended", _("product contract ended")
        CREDITS_TOPPED_UP = "credits_topped_up", _("credits bought")
        SUSPENDED = "suspended", _("suspended for non-payment")
        REACTIVATED = "reactivated", _("reactivated")

    # Indexed by (subscription, effective date).
    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    kind = models.CharField(_("change"), max_length=24, choices=Kind.choices)
    effective_date = models.DateField(_("effective date"))
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    data = models.JSONField(_("details"), default=dict, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # indexed where set only (Meta): jobs write most entries
    )
    channel = models.CharField(
        _("channel"),
        max_length=16,
        blank=True,
        help_text=_("admin, partner portal, self-service, API, job"),
    )
    revoked_by = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="revokes",
        verbose_name=_("revoked by"),
    )

    class Meta:
        verbose_name = _("timeline entry")
        verbose_name_plural = _("timeline")
        ordering = ["subscription", "effective_date", "id"]
        indexes = [
            models.Index(fields=["subscription", "effective_date"]),
            models.Index(fields=["actor"], condition=Q(actor__isnull=False), name="event_actor"),
        ]
        constraints = [
            # A renewal or an end happens once per date: the daily job may run twice.
            models.UniqueConstraint(
                fields=["subscription", "kind", "effective_date"],
                condition=Q(kind__in=["renewed", "ended"]),
                name="event_one_renewal_or_end_per_date",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.effective_date} {self.get_kind_display()}"

    def save(self, *args, **kwargs) -> None:
        # Append-only: an existing entry may only gain its `revoked_by`, once (see the class
        # docstring; which entries may be revoked is the services' rule).
        if self.pk is None:
            super().save(*args, **kwargs)
            return
        if kwargs.get("update_fields") != ["revoked_by"] or self.revoked_by_id is None:
            raise ValueError("timeline entries are never edited")
        revoked = type(self).objects.filter(pk=self.pk, revoked_by__isnull=True)
        if not revoked.update(revoked_by=self.revoked_by_id):
            raise ValueError("this timeline entry is already revoked")

    def is_scheduled(self, today: date) -> bool:
        return self.effective_date > today


class SubscriptionDiscount(models.Model):
    """A discount on a subscription's charges, agreed when it was sold or redeemed later.

    Snapshots (percentages and amounts as agreed), so that a later catalog edit does not
    change what was promised. Applies to the billing periods starting from `first_period_start`,
    for `periods` of them (empty: for ever).

    Two restrictions (billing-rules §7), applied by the charge engine (subscriptions/charges.py):
    `recurring_only` — a coupon discounts one purchase, the recurring invoice of its period, and
    not the one-off charges (seats, add-ons, upgrades) dated in that period; `plan_bound` — a
    discount that came with the plan (its bundles), or a code valid only for that plan, ends at
    the first plan change after the timeline entry that brought it (`event`).
    """

    class Source(models.TextChoices):
        PLAN = "plan", _("plan")
        SERVICE_PERIOD = "service_period", _("service period")
        COUPON = "coupon", _("coupon")
        VOUCHER = "voucher", _("voucher")
        PARTNER = "partner", _("partner")

    # Where a source sits in the order of application when its own sequence is the default:
    # catalog discounts first (by their sequence), then the service period, the partner last.
    SERVICE_PERIOD_SEQUENCE = 900
    PARTNER_SEQUENCE = 1000

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="discounts"
    )
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    # The label in every language shipped, written when the discount is agreed (as the catalog's
    # offer texts are, `name`/`name_fr`): each invoice and page shows the one of its language —
    # an invoice its customer's, a page its reader's — and a later catalog edit changes nothing.
    label = models.CharField(_("label (English)"), max_length=200)
    label_fr = models.CharField(_("label (French)"), max_length=200, blank=True)
    percentage = models.DecimalField(
        _("percentage"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    currency = currency_field()
    amount = money_field(_("amount"), null=True, blank=True)
    target_product = models.ForeignKey(
        Product, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    target_bundle = models.ForeignKey(
        Bundle, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    sequence = models.PositiveSmallIntegerField(_("order of application"))
    first_period_start = models.DateField(_("from the period starting"))
    periods = models.PositiveSmallIntegerField(_("for periods"), null=True, blank=True)
    last_period_start = models.DateField(
        _("until the period starting before"),
        null=True,
        blank=True,
        help_text=_("Stops applying to periods starting on or after this date."),
    )
    recurring_only = models.BooleanField(
        _("one invoice only"),
        default=False,
        help_text=_(
            "Discounts only the recurring invoice of its periods, not the charges of changes "
            "made during them (a coupon: one purchase)."
        ),
    )
    plan_bound = models.BooleanField(
        _("ends with the plan"),
        default=False,
        help_text=_("Ends at the first plan change after the change that brought it."),
    )
    coupon_code = models.ForeignKey(
        CouponCode, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    event = models.ForeignKey(
        SubscriptionEvent, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("subscription discount")
        verbose_name_plural = _("subscription discounts")
        ordering = ["subscription", "sequence", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(percentage__isnull=False, amount__isnull=True)
                | Q(percentage__isnull=True, amount__isnull=False),
                name="subdiscount_percentage_xor_amount",
            ),
            models.CheckConstraint(
                condition=Q(percentage__isnull=True)
                | (Q(percentage__gte=0) & Q(percentage__lte=100)),
                name="subdiscount_percentage_range",
            ),
            models.CheckConstraint(
                condition=Q(periods__isnull=True) | Q(periods__gte=1), name="subdiscount_periods"
            ),
        ]

    def __str__(self) -> str:
        return self.display_label

    @property
    def display_label(self) -> str:
        """The label in the active language (English when it has none in that language)."""
        language = (translation.get_language() or settings.LANGUAGE_CODE)[:2]
        return (self.label_fr if language == "fr" else "") or self.label


class CouponRedemption(models.Model):
    code = models.ForeignKey(CouponCode, on_delete=models.PROTECT, related_name="redemptions")
    subscription = models.ForeignKey(
        Subscription, on_delete=models.PROTECT, related_name="redemptions"
    )
    redeemed_on = models.DateField(_("redeemed on"))
    event = models.OneToOneField(
        SubscriptionEvent, on_delete=models.PROTECT, related_name="redemption"
    )

    class Meta:
        verbose_name = _("coupon redemption")
        verbose_name_plural = _("coupon redemptions")
        constraints = [
            models.UniqueConstraint(
                fields=["code", "subscription"],
                name="redemption_once_per_subscription",
                violation_error_message=_("This code was already redeemed on this subscription."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} on #{self.subscription_id}"


# Product contracts on a subscription (billing-rules §8) -------------------------------------------


class SubscriptionContract(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", pgettext_lazy("contract status", "pending")
        ACTIVE = "active", pgettext_lazy("contract status", "active")
        PENDING_CANCELLATION = (
            "pending_cancellation",
            pgettext_lazy("contract status", "pending cancellation"),
        )
        ENDED = "ended", pgettext_lazy("contract status", "ended")

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="contracts"
    )
    contract = models.ForeignKey(
        ProductContract, on_delete=models.PROTECT, related_name="subscriptions"
    )
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE
    )
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    # Its status moves (pending → active → ended) and its end date with cancellations: audited.
    history = HistoricalRecords()
    _change_reason: str

    class Meta:
        verbose_name = _("product contract of a subscription")
        verbose_name_plural = _("product contracts of subscriptions")
        ordering = ["subscription", "id"]

    def __str__(self) -> str:
        return f"{self.contract.code} on #{self.subscription_id}"


class ScheduledIssue(models.Model):
    """An issue of an issue-based contract, scheduled in its billing period (free ones last)."""

    subscription_contract = models.ForeignKey(
        SubscriptionContract, on_delete=models.CASCADE, related_name="issues"
    )
    period_start = models.DateField(_("billing period start"))
    period_end = models.DateField(_("billing period end"))
    number = models.PositiveSmallIntegerField(_("issue number in the period"))
    issue_date = models.DateField(_("publication date"))
    chargeable = models.BooleanField(_("chargeable"))
    cancelled = models.BooleanField(_("cancelled"), default=False)

    class Meta:
        verbose_name = _("scheduled issue")
        verbose_name_plural = _("scheduled issues")
        ordering = ["subscription_contract", "issue_date", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription_contract", "period_start", "number"],
                name="issue_unique_number_in_period",
            )
        ]

    def __str__(self) -> str:
        free = "" if self.chargeable else " (free)"
        return f"issue {self.number} on {self.issue_date}{free}"


class CreditEntry(models.Model):
    """A movement on the credit balance of a credit-based contract: grant, consumption, expiry."""

    class Kind(models.TextChoices):
        GRANT = "grant", _("granted")
        TOPUP = "topup", _("bought")
        CONSUMPTION = "consumption", _("consumed")
        EXPIRY = "expiry", _("expired")

    subscription_contract = models.ForeignKey(
        SubscriptionContract, on_delete=models.CASCADE, related_name="credits"
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    amount = models.DecimalField(_("credits"), max_digits=12, decimal_places=2)
    day = models.DateField(_("date"))
    period_start = models.DateField(_("accounting period start"), null=True, blank=True)
    period_end = models.DateField(_("accounting period end"), null=True, blank=True)
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("credit entry")
        verbose_name_plural = _("credit entries")
        ordering = ["subscription_contract", "day", "id"]
        constraints = [
            # Grants and expiries are written once per accounting period: jobs may run twice.
            models.UniqueConstraint(
                fields=["subscription_contract", "kind", "period_start"],
                condition=Q(kind__in=["grant", "expiry"]),
                name="credit_one_grant_or_expiry_per_period",
            ),
            models.CheckConstraint(
                condition=(Q(kind__in=["grant", "topup"]) & Q(amount__gt=0))
                | (~Q(kind__in=["grant", "topup"]) & Q(amount__lt=0)),
                name="credit_sign_matches_kind",
            ),
            # A top-up is written once for the timeline entry that bought it (its reference).
            models.UniqueConstraint(
                fields=["subscription_contract", "reference"],
                condition=Q(kind="topup"),
                name="credit_one_topup_per_purchase",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.get_kind_display()} {self.amount}"


# Usage (billing-rules §12) ------------------------------------------------------------------------


class UsageEvent(models.Model):
    """One usage event sent by an application: `code` says what happened, `properties` what a
    metric aggregates. A retried event (same customer, same `transaction_id`) is stored once.

    `counted_at` decides the billing period it counts in: its timestamp, or for an event that
    arrives after its period's grace window closed, the moment the window closed for it
    (received − grace): late events count in their period while the window is open, later ones
    in the next (billing-rules §12; docs/billing-rules.md, "Usage-based billing")."""

    id = models.BigAutoField(primary_key=True)
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="usage_events", db_index=False
    )
    # The subscription whose charge counts it: named by the sender, or the only live subscription
    # of the customer charging or limiting its code (empty: counted by none, kept for the record).
    subscription = models.ForeignKey(
        Subscription,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="usage_events",
        db_index=False,
    )
    transaction_id = models.CharField(_("transaction id"), max_length=100)
    code = models.CharField(_("event code"), max_length=100)
    timestamp = models.DateTimeField(_("timestamp"))
    counted_at = models.DateTimeField(_("counted at"))
    properties = models.JSONField(_("properties"), default=dict, blank=True)
    received_at = models.DateTimeField(_("received at"))

    class Meta:
        verbose_name = _("usage event")
        verbose_name_plural = _("usage events")
        ordering = ["-counted_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "transaction_id"], name="usage_event_unique_transaction"
            )
        ]
        indexes = [
            # A metric's usage over a period: the one read billing and entitlements make.
            models.Index(fields=["subscription", "code", "counted_at"], name="usage_event_period"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.transaction_id}"
