"""What a client receives of a customer, a subscription or an invoice: the representations the REST API
lists and every webhook carries (`data.customer`, `data.subscription`, `data.invoice`).

Here, in integrations, rather than in each app's api.py: the webhook dispatcher
(integrations/services.py) builds its payloads from them, and a service must not import a door.
The apps' api.py build their detail serializers on these.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from billing.models import Invoice
from catalog.models import Plan
from core.money import money_decimal
from integrations.serializers import MONEY_SCHEMA, MoneyField
from partners.models import Partner
from payments.selectors import PARTLY_REFUNDED, REFUNDED, refund_state
from subscriptions.models import Customer, Subscription, SubscriptionItem, SubscriptionSeat


def partner_of_customer(customer) -> Partner | None:
    """The partner of a customer loaded with select_related("partner_link__partner")."""
    link = getattr(customer, "partner_link", None)
    return link.partner if link is not None else None


class PartnerRefSerializer(serializers.ModelSerializer):
    """A partner, as other objects name it."""

    class Meta:
        model = Partner
        fields = ["id", "code", "name"]


class CustomerRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Customer
        fields = ["id", "name"]


class CustomerSerializer(serializers.ModelSerializer):
    partner = serializers.SerializerMethodField()

    class Meta:
        model = Customer
        fields = [
            "id",
            "name",
            "registration_number",
            "vat_number",
            "email",
            "phone",
            "address_line1",
            "address_line2",
            "postal_code",
            "city",
            "country",
            "locale",
            "currency",
            "payment_type",
            "partner",
            "created_at",
        ]

    @extend_schema_field(PartnerRefSerializer(allow_null=True))
    def get_partner(self, customer: Customer) -> dict | None:
        partner = partner_of_customer(customer)
        return PartnerRefSerializer(partner).data if partner else None


class PlanRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Plan
        fields = ["id", "code", "name"]


class SeatSerializer(serializers.ModelSerializer):
    seat_type = serializers.SlugRelatedField(slug_field="code", read_only=True)
    scheduled_quantity = serializers.IntegerField(
        allow_null=True, help_text="Seats from the renewal, when a reduction is scheduled."
    )

    class Meta:
        model = SubscriptionSeat
        fields = ["seat_type", "quantity", "scheduled_quantity"]


class ItemSerializer(serializers.ModelSerializer):
    product = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    bundle = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)

    class Meta:
        model = SubscriptionItem
        fields = ["kind", "product", "bundle", "quantity"]


class SubscriptionSerializer(serializers.ModelSerializer):
    customer = CustomerRefSerializer(read_only=True)
    bill_to = CustomerRefSerializer(
        read_only=True,
        allow_null=True,
        help_text="Who is invoiced when it is not the customer: the partner that sold it.",
    )
    partner = serializers.SerializerMethodField()
    plan = PlanRefSerializer(read_only=True)
    pending_plan = PlanRefSerializer(read_only=True, allow_null=True)
    term = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    seats = SeatSerializer(many=True, read_only=True)
    items = ItemSerializer(many=True, read_only=True)
    status = serializers.ChoiceField(
        source="shown_status",
        choices=Subscription.SHOWN_STATUSES,
        read_only=True,
        help_text="'suspended' while suspended for non-payment (lifecycle_status says the rest).",
    )
    lifecycle_status = serializers.ChoiceField(
        source="status",
        choices=Subscription.Status.choices,
        read_only=True,
        help_text="Where it is in its life, suspended or not.",
    )
    access = serializers.BooleanField(
        source="has_access",
        read_only=True,
        help_text="What entitlements follow: live and not suspended.",
    )

    class Meta:
        model = Subscription
        fields = [
            "id",
            "customer",
            "bill_to",
            "partner",
            "plan",
            "pending_plan",
            "term",
            "status",
            "lifecycle_status",
            "suspended_since",
            "access",
            "currency",
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
            "auto_renew",
            "po_reference",
            "service_period_years",
            "seats",
            "items",
            "created_at",
            "updated_at",
        ]

    @extend_schema_field(PartnerRefSerializer(allow_null=True))
    def get_partner(self, subscription: Subscription) -> dict | None:
        partner = partner_of_customer(subscription.customer)
        return PartnerRefSerializer(partner).data if partner else None


class InvoiceSerializer(serializers.ModelSerializer):
    customer = CustomerRefSerializer(
        read_only=True, help_text="The party invoiced: the customer, or the partner that sold."
    )
    end_customer = serializers.PrimaryKeyRelatedField(
        read_only=True,
        allow_null=True,
        help_text="On a partner's invoice, the customer it bought for (id).",
    )
    subscription = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    credited_invoice = serializers.SlugRelatedField(
        slug_field="number", read_only=True, allow_null=True
    )
    net_total = MoneyField()
    tax_total = MoneyField()
    total = MoneyField()
    amount_paid = MoneyField()
    balance = MoneyField()
    refund_state = serializers.SerializerMethodField()
    refunded = serializers.SerializerMethodField()

    class Meta:
        model = Invoice
        fields = [
            "id",
            "number",
            "kind",
            "status",
            "customer",
            "subscription",
            "credited_invoice",
            "currency",
            "language",
            "po_reference",
            "end_customer",
            "end_customer_name",
            "issue_date",
            "due_date",
            "period_start",
            "period_end",
            "net_total",
            "tax_total",
            "total",
            "amount_paid",
            "balance",
            "paid_on",
            "refund_state",
            "refunded",
            "note",
        ]

    def _refund_state(self, invoice: Invoice) -> tuple[str, object]:
        # Lists and webhooks read `refunded_amount` with the invoices (with_refunded_amount);
        # a single invoice otherwise costs one query.
        if getattr(invoice, "refunded_amount", None) is None:
            invoice.refunded_amount = refund_state(invoice)[1]
        return refund_state(invoice, invoice.refunded_amount)

    @extend_schema_field(
        {
            "type": "string",
            "enum": ["", PARTLY_REFUNDED, REFUNDED],
            "description": "Whether what was paid was paid back: not, partly, or in full.",
        }
    )
    def get_refund_state(self, invoice: Invoice) -> str:
        return self._refund_state(invoice)[0]

    @extend_schema_field({**MONEY_SCHEMA, "description": "Paid back so far (refunds)."})
    def get_refunded(self, invoice: Invoice) -> str:
        return money_decimal(self._refund_state(invoice)[1], invoice.currency)
