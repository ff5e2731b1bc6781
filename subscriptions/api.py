"""REST API, customers and subscriptions.

Reads: customers and subscriptions of the caller's tenant (operator: all; partner: its
customers'; customer: its own), with filters and pagination; another tenant's row is a 404.

Usage (billing-rules §12): `POST /usage-events/` takes one event, or `{"events": [...]}` (1 to
1,000), and calls `usage_events_record` once — 201 with what was recorded and what was a
duplicate (a retried transaction id); 400 with the errors of each bad event by index, nothing
written; 422 when a hard limit would be passed, nothing written. An operator records for any
customer, a partner for its customers, a customer for itself (another's customer: "no customer
with this id"). The body is checked by the service in one pass, not by DRF field by field (a
batch of 1,000 events); the serializers document it, with the service's bounds.
`GET /subscriptions/{id}/usage/`: the current period's usage per metric and its estimate.

Changes: create a subscription, add seats, ask for a seat reduction, change plan, cancel, redeem
a coupon, record credit consumption. Each calls one service; each that can be previewed has a
`…/preview/` twin that runs the very same service with `dry_run=True` and saves nothing. The
changes accept an `Idempotency-Key` header (integrations/idempotency.py) and take the
subscription's row lock without waiting (a concurrent change: 409).
"""

from __future__ import annotations

from decimal import Decimal

import django_filters
from django.db.models import Prefetch, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from catalog.models import Bundle, Feature, Plan, Product, SeatType
from core import clock
from core.money import money_decimal
from integrations.access import Role, request_tenant
from integrations.filters import MAX_ID, IdFilter
from integrations.idempotency import HEADER as IDEMPOTENCY_HEADER
from integrations.idempotency import KEY_PATTERN as IDEMPOTENCY_KEY_PATTERN
from integrations.idempotency import idempotent
from integrations.payloads import (
    CustomerSerializer,
    SubscriptionSerializer,
    partner_of_customer,
)
from integrations.serializers import (
    EventSerializer,
    InputSerializer,
    PreviewSerializer,
)
from integrations.viewsets import TenantMixin, lock_nowait
from partners.services import subscription_sell
from subscriptions import services
from subscriptions.charges.usage import UsageLine, usage_estimate
from subscriptions.entitlements import customer_entitlements, plan_change_features
from subscriptions.models import (
    Customer,
    Subscription,
    SubscriptionContract,
    SubscriptionEvent,
    UsageEvent,
)
from subscriptions.selectors import (
    held_contracts,
    managed_elsewhere,
    next_invoices,
    subscriptions_for_list,
)
from subscriptions.services.usage import (
    MAX_BATCH,
    MAX_CODE,
    MAX_PROPERTY_NUMBER,
    MAX_TRANSACTION_ID,
    UsageBatchError,
    UsageLimitExceeded,
    usage_events_record,
)

CHANNEL = "api"
CONTRACT_ID_PARAMETER = OpenApiParameter(
    "contract_id",
    OpenApiTypes.INT,
    OpenApiParameter.PATH,
    description="The id of the contract held (see the subscription's contracts).",
)
MAX_QUANTITY = 1_000_000  # far above any real order; keeps numbers inside the columns

# Serializers: output ---------------------------------------------------------------------------


class HeldContractSerializer(serializers.ModelSerializer):
    contract = serializers.SlugRelatedField(slug_field="code", read_only=True)
    kind = serializers.CharField(source="contract.kind")
    credit_balance = serializers.SerializerMethodField()

    class Meta:
        model = SubscriptionContract
        fields = [
            "id",
            "contract",
            "kind",
            "status",
            "start_date",
            "end_date",
            "quantity",
            "credit_balance",
        ]

    @extend_schema_field(
        {"type": "string", "nullable": True, "example": "12.50", "description": "Credits left."}
    )
    def get_credit_balance(self, held: SubscriptionContract) -> str | None:
        if held.contract.kind != "credit":
            return None
        # Annotated by subscriptions_for_detail (one query for every contract of the page).
        balance = getattr(held, "balance", None)
        if balance is None:
            balance = services.credit_balance(subscription_contract=held)
        return f"{balance:.2f}"


class NextInvoiceSerializer(serializers.Serializer):
    date = serializers.DateField()
    amount = serializers.CharField(help_text="Net, before tax, 2 decimals.")
    currency = serializers.CharField()


class SubscriptionDetailSerializer(SubscriptionSerializer):
    contracts = HeldContractSerializer(many=True, read_only=True)
    events = EventSerializer(many=True, read_only=True, help_text="The timeline.")
    next_invoice = serializers.SerializerMethodField()

    class Meta(SubscriptionSerializer.Meta):
        fields = [*SubscriptionSerializer.Meta.fields, "contracts", "events", "next_invoice"]

    @extend_schema_field(NextInvoiceSerializer(allow_null=True))
    def get_next_invoice(self, subscription: Subscription) -> dict | None:
        if subscription.is_managed and _is_customer(self.context.get("request")):
            return None  # the partner's price is the partner's (billing-rules §9)
        upcoming = next_invoices([subscription]).get(subscription.pk)
        if upcoming is None:
            return None
        return {
            "date": upcoming.day.isoformat(),
            "amount": money_decimal(upcoming.amount, upcoming.currency),
            "currency": upcoming.currency,
        }


def _is_customer(request) -> bool:
    tenant = request_tenant(request) if request is not None else None
    return tenant is not None and tenant.role == Role.CUSTOMER


class IssuedInvoiceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    total = serializers.SerializerMethodField(help_text="Tax included, 2 decimals.")
    currency = serializers.CharField()
    pdf = serializers.SerializerMethodField(help_text="Where its PDF downloads.")

    def get_total(self, invoice) -> str:
        return money_decimal(invoice.total.amount, invoice.currency)

    def get_pdf(self, invoice) -> str:
        return reverse("api:invoice-pdf", args=[invoice.pk])


class ChangeSerializer(PreviewSerializer):
    """A change made: its charges, dates and rule, the timeline entry and the subscription."""

    event = EventSerializer(allow_null=True)
    invoices = IssuedInvoiceSerializer(
        many=True,
        read_only=True,
        help_text="The invoices issued at once by the change (a start in the past: one per "
        "billing period begun since then).",
    )
    subscription = serializers.SerializerMethodField()

    @extend_schema_field(SubscriptionDetailSerializer)
    def get_subscription(self, result) -> dict:
        return SubscriptionDetailSerializer(self.context["subscription"]).data


class EntitlementSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField(help_text="In the request's language.")
    kind = serializers.ChoiceField(choices=["on_off", "limit"])
    enabled = serializers.BooleanField()
    limit = serializers.DecimalField(
        max_digits=20,
        decimal_places=0,
        allow_null=True,
        help_text="For a limit: the sum over the subscriptions and add-ons granting it; null "
        "for unlimited (and for an on/off feature); 0 when off.",
    )
    unit = serializers.CharField(help_text="In the request's language (GB, calls…).")
    used = serializers.DecimalField(
        max_digits=30,
        decimal_places=6,
        allow_null=True,
        normalize_output=True,
        help_text="For a limit counted against usage: what was used in the current billing "
        "period; else null.",
    )
    remaining = serializers.DecimalField(
        max_digits=30,
        decimal_places=6,
        allow_null=True,
        normalize_output=True,
        help_text="Limit − used, never below 0; null when unlimited or not counted.",
    )
    enforcement = serializers.ChoiceField(
        choices=Feature.Enforcement.choices,
        help_text="Beyond the limit, usage events are refused (hard) or accepted with a "
        "webhook (soft).",
    )
    period_start = serializers.DateField(
        source="period.start", allow_null=True, default=None, help_text="Where `used` counts from."
    )
    period_end = serializers.DateField(
        source="period.end",
        allow_null=True,
        default=None,
        help_text="Where the count resets (exclusive).",
    )
    granted_by = serializers.ListField(
        child=serializers.IntegerField(), help_text="The ids of the subscriptions enabling it."
    )


class EntitlementsSerializer(serializers.Serializer):
    customer = serializers.IntegerField(source="customer_id")
    day = serializers.DateField()
    features = EntitlementSerializer(many=True)


class FeatureChangeSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField(source="feature.display_name")
    change = serializers.ChoiceField(choices=["gained", "lost", "raised", "lowered"])
    limit_before = serializers.DecimalField(
        source="before", max_digits=20, decimal_places=0, allow_null=True
    )
    limit_after = serializers.DecimalField(
        source="after", max_digits=20, decimal_places=0, allow_null=True
    )


class PlanChangePreviewSerializer(PreviewSerializer):
    features = serializers.SerializerMethodField()

    @extend_schema_field(FeatureChangeSerializer(many=True))
    def get_features(self, result) -> list[dict]:
        """Features gained and lost, limits raised and lowered (null: unlimited)."""
        return FeatureChangeSerializer(self.context.get("features", []), many=True).data


class CreditEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    day = serializers.DateField()
    reference = serializers.CharField()
    balance = serializers.DecimalField(
        max_digits=12, decimal_places=2, help_text="Credits left after this entry."
    )


class DeliverySerializer(serializers.Serializer):
    number = serializers.IntegerField(help_text="The issue's number in its billing period.")
    period_start = serializers.DateField(help_text="Its billing period.")
    issue_date = serializers.DateField()
    chargeable = serializers.BooleanField(help_text="Charged (true) or free (false).")


class LedgerLineSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="entry.pk")
    kind = serializers.CharField(source="entry.kind")
    amount = serializers.DecimalField(source="entry.amount", max_digits=12, decimal_places=2)
    day = serializers.DateField(source="entry.day")
    reference = serializers.CharField(source="entry.reference")
    balance = serializers.DecimalField(
        max_digits=12, decimal_places=2, help_text="Credits left after this entry."
    )


class HeldContractDetailSerializer(serializers.Serializer):
    """A contract held, with its deliveries (issue-based) and its credit ledger (credit-based)."""

    id = serializers.IntegerField(source="held.pk")
    contract = serializers.CharField(source="held.contract.code")
    kind = serializers.CharField()
    status = serializers.ChoiceField(
        source="held.status", choices=SubscriptionContract.Status.choices
    )
    start_date = serializers.DateField(source="held.start_date")
    end_date = serializers.DateField(source="held.end_date", allow_null=True)
    quantity = serializers.IntegerField(source="held.quantity")
    credit_balance = serializers.DecimalField(
        source="balance", max_digits=12, decimal_places=2, allow_null=True
    )
    deliveries = DeliverySerializer(
        many=True, help_text="Issues delivered: date passed, not cancelled."
    )
    credits = LedgerLineSerializer(source="ledger", many=True, help_text="The credit ledger.")


# Serializers: input (parsing only; the services decide) ----------------------------------------


def _by_code(model, codes, field: str, message: str) -> dict:
    """Look the codes up; unknown ones are a 400 on `field` (`message` names them)."""
    found = {obj.code: obj for obj in model.objects.filter(code__in=list(codes))}
    unknown = sorted(set(codes) - set(found))
    if unknown:
        raise serializers.ValidationError({field: [message % {"codes": ", ".join(unknown)}]})
    return found


def quantity_field(**kwargs) -> serializers.IntegerField:
    return serializers.IntegerField(max_value=MAX_QUANTITY, min_value=-MAX_QUANTITY, **kwargs)


class SubscriptionCreateInput(InputSerializer):
    customer = serializers.PrimaryKeyRelatedField(queryset=Customer.objects.none())
    plan = serializers.SlugRelatedField(slug_field="code", queryset=Plan.objects.all())
    start_date = serializers.DateField()
    seats = serializers.DictField(
        child=quantity_field(), required=False, help_text="Seats by seat-type code."
    )
    options = serializers.DictField(
        child=quantity_field(), required=False, help_text="Optional products by product code."
    )
    addons = serializers.DictField(
        child=quantity_field(), required=False, help_text="Add-on bundles by bundle code."
    )
    po_reference = serializers.CharField(required=False, allow_blank=True, default="")
    service_period_years = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=0, max_value=100
    )
    auto_renew = serializers.BooleanField(required=False, allow_null=True, default=None)

    def __init__(self, *args, customers: QuerySet[Customer] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if customers is not None:
            self.fields["customer"].queryset = customers

    def validate(self, attrs: dict) -> dict:
        seats = attrs.get("seats") or {}
        options = attrs.get("options") or {}
        addons = attrs.get("addons") or {}
        seat_types = _by_code(SeatType, seats, "seats", _("Unknown seat type: %(codes)s."))
        products = _by_code(Product, options, "options", _("Unknown product: %(codes)s."))
        bundles = _by_code(Bundle, addons, "addons", _("Unknown bundle: %(codes)s."))
        attrs["seats"] = {seat_types[code]: n for code, n in seats.items()}
        attrs["options"] = {products[code].pk: n for code, n in options.items()}
        attrs["addons"] = {bundles[code].pk: n for code, n in addons.items()}
        return attrs


class SeatsInput(InputSerializer):
    seat_type = serializers.SlugRelatedField(slug_field="code", queryset=SeatType.objects.all())
    quantity = quantity_field(help_text="Seats to add.")


class SeatReductionInput(InputSerializer):
    seat_type = serializers.SlugRelatedField(slug_field="code", queryset=SeatType.objects.all())
    quantity = quantity_field(help_text="The number of seats wanted from the renewal.")


class PlanChangeInput(InputSerializer):
    plan = serializers.SlugRelatedField(slug_field="code", queryset=Plan.objects.all())


class CancelInput(InputSerializer):
    """Nothing to send: the term and the date decide."""


class PlanChangeWithdrawInput(InputSerializer):
    """Nothing to send: the scheduled plan change is withdrawn."""


class CouponInput(InputSerializer):
    code = serializers.CharField(allow_blank=True, max_length=200, trim_whitespace=False)


class ConsumptionInput(InputSerializer):
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, help_text="Credits used.")
    reference = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)


class TopupInput(InputSerializer):
    credits = serializers.DecimalField(
        max_digits=12, decimal_places=2, help_text="Credits bought (invoiced at once)."
    )


# Querysets -------------------------------------------------------------------------------------


def customers_for_list() -> QuerySet[Customer]:
    return Customer.objects.select_related("partner_link__partner").order_by("name", "id")


def subscriptions_for_detail() -> QuerySet[Subscription]:
    return subscriptions_for_list().prefetch_related(
        Prefetch(
            "contracts",
            queryset=SubscriptionContract.objects.select_related("contract").annotate(
                balance=Coalesce(Sum("credits__amount"), Value(Decimal(0)))
            ),
        ),
        Prefetch("events", queryset=SubscriptionEvent.objects.order_by("effective_date", "id")),
    )


# Filters ---------------------------------------------------------------------------------------


class CustomerFilter(django_filters.FilterSet):
    partner = django_filters.CharFilter(
        field_name="partner_link__partner__code", help_text="Partner code."
    )
    country = django_filters.CharFilter()
    currency = django_filters.CharFilter()
    search = django_filters.CharFilter(method="search_filter", help_text="Name, email or city.")

    class Meta:
        model = Customer
        fields = ["partner", "country", "currency", "search"]

    def search_filter(self, queryset, name, value):
        return queryset.filter(
            Q(name__icontains=value) | Q(email__icontains=value) | Q(city__icontains=value)
        )


class SubscriptionFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(
        choices=Subscription.SHOWN_STATUSES,
        method="status_filter",
        help_text="The status shown: a suspended subscription is 'suspended', not 'active'.",
    )
    plan = django_filters.CharFilter(field_name="plan__code", help_text="Plan code.")
    customer = IdFilter(field_name="customer_id", help_text="Customer id.")
    partner = django_filters.CharFilter(
        field_name="customer__partner_link__partner__code", help_text="Partner code."
    )
    renewal_date = django_filters.DateFromToRangeFilter(
        help_text="Renewal date from (_after) and to (_before), inclusive."
    )

    class Meta:
        model = Subscription
        fields = ["status", "plan", "customer", "partner", "renewal_date"]

    def status_filter(self, queryset, name, value):
        wanted = Q()
        lifecycle = [v for v in value if v != Subscription.SUSPENDED]
        if lifecycle:
            wanted |= Q(status__in=lifecycle, suspended_since__isnull=True)
        if Subscription.SUSPENDED in value:
            wanted |= Q(suspended_since__isnull=False)
        return queryset.filter(wanted)


# Views -----------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="List customers", tags=["customers"]),
    retrieve=extend_schema(summary="A customer", tags=["customers"]),
)
class CustomerViewSet(TenantMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = CustomerSerializer
    filterset_class = CustomerFilter
    queryset = customers_for_list()

    def scoped(self, queryset):
        return self.tenant.customers(queryset)

    @extend_schema(
        summary="A customer's entitlements",
        description="Every feature its live subscriptions give (a suspended subscription's "
        "are off): on/off features, limits summed over subscriptions and add-ons (null: "
        "unlimited), and for a limit counted against usage what is used so far in the current "
        "billing period.",
        tags=["customers"],
        responses={200: EntitlementsSerializer},
    )
    @action(detail=True, methods=["get"])
    def entitlements(self, request, pk=None):
        customer = self.get_object()
        return Response(EntitlementsSerializer(customer_entitlements(customer=customer)).data)


IDEMPOTENCY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    {"type": "string", "minLength": 1, "maxLength": 255, "pattern": IDEMPOTENCY_KEY_PATTERN},
    OpenApiParameter.HEADER,
    required=False,
    description=(
        "Any unique string (a UUID): the same key with the same request returns the first "
        "answer and changes nothing more; with another request it is refused (422). Kept 24 h."
    ),
)


def change_schema(summary: str, request, *, created: bool = False, description: str = ""):
    return extend_schema(
        summary=summary,
        description=description,
        tags=["subscriptions"],
        request=request,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201 if created else 200: ChangeSerializer},
    )


def preview_schema(summary: str, request, description: str = "", response=PreviewSerializer):
    return extend_schema(
        summary=summary,
        description=(description + " " if description else "")
        + "Computes the change exactly as its POST would, and saves nothing.",
        tags=["subscriptions"],
        request=request,
        responses={200: response},
    )


def change_actions(
    url: str,
    adapter: str,
    input_class,
    *,
    summary: str,
    preview_summary: str,
    description="",
    preview_response=PreviewSerializer,
):
    """A change and its preview, as the two actions `POST …/{url}/` and `POST …/{url}/preview/`:
    both parse `input_class` and call the view's `adapter` (one service), the preview with
    dry_run=True. One definition, so the pair cannot drift apart."""

    def change(self, request, pk=None):
        return self._change(request, getattr(self, adapter), input_class, preview=False)

    def preview(self, request, pk=None):
        return self._change(request, getattr(self, adapter), input_class, preview=True)

    name = url.replace("/", "-")
    # DRF finds actions by attribute and checks the function bears its attribute's name.
    change.__name__ = name.replace("-", "_")
    preview.__name__ = f"{change.__name__}_preview"
    change = change_schema(summary, input_class, description=description)(
        action(detail=True, methods=["post"], url_path=url, url_name=name)(change)
    )
    preview = preview_schema(preview_summary, input_class, response=preview_response)(
        action(
            detail=True, methods=["post"], url_path=f"{url}/preview", url_name=f"{name}-preview"
        )(preview)
    )
    return change, preview


# Usage events (documentation: the service checks) --------------------------------------------------

PROPERTIES_SCHEMA = {
    "type": "object",
    "description": (
        "What the metrics aggregate or filter on: texts, numbers, true/false or null, at most "
        "2,000 bytes of JSON."
    ),
    "additionalProperties": {
        "anyOf": [
            {"type": "string"},
            {
                "type": "number",
                "minimum": -MAX_PROPERTY_NUMBER,
                "maximum": MAX_PROPERTY_NUMBER,
            },
            {"type": "boolean"},
        ],
        "nullable": True,
    },
    "example": {"region": "eu", "bytes": 2048},
}


@extend_schema_field(PROPERTIES_SCHEMA)
class PropertiesField(serializers.DictField):
    pass


class UsageEventInput(InputSerializer):
    customer = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    subscription = serializers.IntegerField(
        min_value=1,
        max_value=MAX_ID,
        required=False,
        allow_null=True,
        help_text=(
            "Leave it out when the customer has one live subscription charging or limiting this "
            "code; name it when it has several."
        ),
    )
    transaction_id = serializers.CharField(
        min_length=1,
        max_length=MAX_TRANSACTION_ID,
        help_text="Unique per customer: an event sent again with it is counted once.",
    )
    code = serializers.CharField(
        min_length=1, max_length=MAX_CODE, help_text="The event code metrics count (api_call)."
    )
    timestamp = serializers.DateTimeField(
        help_text=(
            "When it happened, with its offset; at most 5 minutes ahead and 400 days old. An "
            "event received more than USAGE_GRACE_HOURS after its billing period ended counts "
            "in the next period."
        )
    )
    properties = PropertiesField(required=False)


class UsageBatchInput(InputSerializer):
    events = UsageEventInput(many=True, min_length=1, max_length=MAX_BATCH)


UsageEventsRequest = PolymorphicProxySerializer(
    component_name="UsageEventsRequest",
    serializers=[UsageEventInput, UsageBatchInput],
    resource_type_field_name=None,
)


class EventOutcomeSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    transaction_id = serializers.CharField()
    status = serializers.ChoiceField(
        choices=["recorded", "duplicate"],
        help_text="duplicate: this customer's transaction id was already recorded.",
    )
    subscription = serializers.IntegerField(
        source="subscription_id",
        allow_null=True,
        help_text="The subscription counting it (empty: none charges or limits its code).",
    )


class UsageBatchSerializer(serializers.Serializer):
    recorded = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    events = EventOutcomeSerializer(many=True)


class UsageLimitSerializer(serializers.Serializer):
    """422: a hard limit would be passed (or an Idempotency-Key reused: `detail` only)."""

    detail = serializers.CharField()
    code = serializers.CharField(required=False)
    feature = serializers.CharField(required=False)
    customer = serializers.IntegerField(required=False)
    limit = serializers.CharField(required=False)
    used = serializers.CharField(required=False, help_text="Before this batch.")
    used_with_batch = serializers.CharField(required=False)
    period_start = serializers.DateField(required=False)
    period_end = serializers.DateField(required=False, help_text="Excluded.")


class UsageLineSerializer(serializers.Serializer):
    metric = serializers.CharField(source="metric.code")
    name = serializers.CharField(source="metric.name")
    unit = serializers.CharField(source="metric.unit")
    aggregation = serializers.CharField(source="metric.aggregation")
    period_start = serializers.DateField(source="period.start")
    period_end = serializers.DateField(source="period.end", help_text="Excluded.")
    quantity = serializers.SerializerMethodField()
    amount = serializers.SerializerMethodField()
    currency = serializers.CharField()
    rule = serializers.CharField()

    @extend_schema_field({"type": "string", "example": "25000"})
    def get_quantity(self, line: UsageLine) -> str:
        return format(line.quantity.normalize(), "f")

    @extend_schema_field(
        {
            "type": "string",
            "nullable": True,
            "example": "30.00",
            "description": (
                "Estimated, before discounts, 2 decimals; empty for a customer whose partner "
                "is invoiced (the partner's price is the partner's)."
            ),
        }
    )
    def get_amount(self, line: UsageLine) -> str | None:
        if self.context.get("hide_amounts"):
            return None
        return money_decimal(line.amount, line.currency)


class SubscriptionUsageSerializer(serializers.Serializer):
    subscription = serializers.IntegerField()
    day = serializers.DateField()
    metrics = UsageLineSerializer(many=True)


@extend_schema_view(
    list=extend_schema(summary="List subscriptions", tags=["subscriptions"]),
    retrieve=extend_schema(
        summary="A subscription", tags=["subscriptions"], responses=SubscriptionDetailSerializer
    ),
)
class SubscriptionViewSet(TenantMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = SubscriptionSerializer
    filterset_class = SubscriptionFilter
    queryset = subscriptions_for_list()

    def scoped(self, queryset):
        return self.tenant.subscriptions(queryset)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Subscription.objects.none()
        if self.action == "list":
            return self.scoped(subscriptions_for_list())
        if self.action == "retrieve":
            return self.scoped(subscriptions_for_detail())
        return self.scoped(Subscription.objects.all())  # a change loads and locks its own

    def get_serializer_class(self):
        return SubscriptionSerializer if self.action == "list" else SubscriptionDetailSerializer

    # Helpers: parse, call one service, render --------------------------------------------------

    def _input(self, serializer_class, **kwargs):
        serializer = serializer_class(data=self.request.data, **kwargs)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def _changed(self, result, *, created: bool = False) -> Response:
        fresh = self.tenant.subscriptions(subscriptions_for_detail()).get(pk=result.subscription.pk)
        data = ChangeSerializer(result, context={"subscription": fresh}).data
        return Response(data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    def _change(self, request, call, serializer_class, *, preview: bool) -> Response:
        """Run `call(subscription, data, dry_run)` on the caller's subscription: a preview at
        once; a change under its row lock (409 if taken), once per Idempotency-Key."""

        def handle() -> Response:
            subscription = self.get_object()
            self._check_customer_may_change(subscription)
            data = self._input(serializer_class)
            if preview:
                return Response(self._preview(call, subscription, data))
            lock_nowait(Subscription, subscription.pk)
            return self._changed(call(subscription, data, False))

        return handle() if preview else idempotent(request, handle)

    def _preview(self, call, subscription: Subscription, data) -> dict:
        if call == self._change_plan:
            # What the plan change gains and loses, read before the dry run (which rolls back).
            features = plan_change_features(
                subscription=subscription, plan_id=data["plan"].pk, day=clock.today()
            )
            result = call(subscription, data, True)
            return PlanChangePreviewSerializer(result, context={"features": features}).data
        return PreviewSerializer(call(subscription, data, True)).data

    def _check_customer_may_change(self, subscription: Subscription) -> None:
        if self.tenant.role == Role.CUSTOMER and (reason := managed_elsewhere(subscription)):
            raise PermissionDenied(reason)

    def _create(self, request, *, preview: bool) -> Response:
        def handle() -> Response:
            data = self._input(SubscriptionCreateInput, customers=self.tenant.customers())
            partner = partner_of_customer(data["customer"])
            if self.tenant.role == Role.CUSTOMER and partner is not None:
                # Its partner buys for it, at the partner's price: never the customer itself.
                raise PermissionDenied(
                    _("Your subscriptions are bought through %(partner)s: ask them.")
                    % {"partner": partner.name}
                )
            result = subscription_sell(
                customer=data["customer"],
                plan=data["plan"],
                start_date=data["start_date"],
                today=clock.today(),
                seats=data["seats"],
                options=data["options"],
                addons=data["addons"],
                po_reference=data["po_reference"],
                service_period_years=data["service_period_years"],
                auto_renew=data["auto_renew"],
                actor=request.user,
                channel=CHANNEL,
                dry_run=preview,
            )
            if preview:
                return Response(PreviewSerializer(result).data)
            return self._changed(result, created=True)

        return handle() if preview else idempotent(request, handle)

    # Creation ---------------------------------------------------------------------------------

    @change_schema(
        "Create a subscription",
        SubscriptionCreateInput,
        created=True,
        description="Sold through the customer's partner when it has one (its discount applies).",
    )
    def create(self, request):
        return self._create(request, preview=False)

    @preview_schema("Preview a subscription", SubscriptionCreateInput)
    @action(detail=False, methods=["post"], url_path="preview")
    def create_preview(self, request):
        return self._create(request, preview=True)

    # Seats ------------------------------------------------------------------------------------

    def _seats_add(self, subscription, data, dry_run):
        return services.seats_add(
            subscription=subscription,
            seat_type=data["seat_type"],
            quantity=data["quantity"],
            today=clock.today(),
            actor=self.request.user,
            channel=CHANNEL,
            dry_run=dry_run,
        )

    seats, seats_preview = change_actions(
        "seats",
        "_seats_add",
        SeatsInput,
        summary="Add seats",
        preview_summary="Preview adding seats",
        description="Charged at once for the rest of the current period (prorated).",
    )

    def _seats_reduce(self, subscription, data, dry_run):
        return services.seats_reduce(
            subscription=subscription,
            seat_type=data["seat_type"],
            quantity=data["quantity"],
            today=clock.today(),
            actor=self.request.user,
            channel=CHANNEL,
            dry_run=dry_run,
        )

    seat_reductions, seat_reductions_preview = change_actions(
        "seat-reductions",
        "_seats_reduce",
        SeatReductionInput,
        summary="Ask for a seat reduction",
        preview_summary="Preview a seat reduction",
        description=(
            "Effective at the next renewal; refused within the seat-reduction freeze "
            "and below the devices deployed."
        ),
    )

    # Plan change ------------------------------------------------------------------------------

    def _change_plan(self, subscription, data, dry_run):
        return services.subscription_change_plan(
            subscription=subscription,
            plan=data["plan"],
            today=clock.today(),
            actor=self.request.user,
            channel=CHANNEL,
            dry_run=dry_run,
        )

    plan_change, plan_change_preview = change_actions(
        "plan-change",
        "_change_plan",
        PlanChangeInput,
        summary="Change plan",
        preview_summary="Preview a plan change",
        description=(
            "An upgrade is immediate and prorated; a downgrade waits for the end of the period."
        ),
        preview_response=PlanChangePreviewSerializer,
    )

    def _withdraw_plan_change(self, subscription, data, dry_run):
        return services.subscription_withdraw_plan_change(
            subscription=subscription,
            today=clock.today(),
            actor=self.request.user,
            channel=CHANNEL,
            dry_run=dry_run,
        )

    plan_change_withdraw, plan_change_withdraw_preview = change_actions(
        "plan-change/withdraw",
        "_withdraw_plan_change",
        PlanChangeWithdrawInput,
        summary="Withdraw a scheduled plan change",
        preview_summary="Preview withdrawing a plan change",
        description=(
            "A downgrade waiting for the period end, or a change waiting for its "
            "fulfilment: the subscription stays on its plan."
        ),
    )

    # Cancellation -----------------------------------------------------------------------------

    def _cancel(self, subscription, data, dry_run):
        return services.subscription_cancel(
            subscription=subscription,
            today=clock.today(),
            actor=self.request.user,
            channel=CHANNEL,
            dry_run=dry_run,
        )

    cancel, cancel_preview = change_actions(
        "cancel",
        "_cancel",
        CancelInput,
        summary="Cancel",
        preview_summary="Preview a cancellation",
        description=(
            "Effective date and any penalty follow the term and the notice period; "
            "the answer's rule says why."
        ),
    )

    # Coupons ----------------------------------------------------------------------------------

    def _redeem(self, subscription, data, dry_run):
        return services.coupon_redeem(
            subscription=subscription,
            code=data["code"],
            today=clock.today(),
            actor=self.request.user,
            channel=CHANNEL,
            dry_run=dry_run,
        )

    coupons, coupons_preview = change_actions(
        "coupons",
        "_redeem",
        CouponInput,
        summary="Redeem a coupon or voucher",
        preview_summary="Preview a coupon",
        description=(
            "A coupon discounts the next invoice; a voucher lasts its discounts' duration."
        ),
    )

    # Product contracts held ---------------------------------------------------------------------

    @extend_schema(
        summary="The subscription's product contracts",
        description="Each contract held with its deliveries (issue-based: issues whose date has "
        "passed, not cancelled) and its credit ledger (credit-based).",
        tags=["subscriptions"],
        responses={200: HeldContractDetailSerializer(many=True)},
    )
    @action(
        detail=True,
        methods=["get"],
        url_path="contracts",
        filter_backends=[],
        pagination_class=None,
    )
    def contracts(self, request, pk=None):
        subscription = self.get_object()
        shown = held_contracts([subscription.pk], clock.today()).get(subscription.pk, [])
        return Response(HeldContractDetailSerializer(shown, many=True).data)

    @extend_schema(
        summary="Buy credits",
        description="On a credit-based product contract of the subscription: the credits are "
        "added at once and invoiced at once, at the contract's price.",
        tags=["subscriptions"],
        request=TopupInput,
        parameters=[
            CONTRACT_ID_PARAMETER,
            IDEMPOTENCY_PARAMETER,
        ],
        responses={201: CreditEntrySerializer},
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=r"contracts/(?P<contract_id>[0-9]+)/topups",
    )
    def topups(self, request, pk=None, contract_id=None):
        def handle() -> Response:
            subscription = self.get_object()
            self._check_customer_may_change(subscription)
            held = get_object_or_404(
                SubscriptionContract.objects.select_related("contract", "subscription"),
                pk=contract_id,
                subscription=subscription,
            )
            data = self._input(TopupInput)
            lock_nowait(Subscription, subscription.pk)
            entry = services.credits_topup(
                subscription_contract=held,
                credits=data["credits"],
                day=clock.today(),
                actor=request.user,
                channel=CHANNEL,
            )
            body = CreditEntrySerializer(
                {
                    "id": entry.pk,
                    "kind": entry.kind,
                    "amount": entry.amount,
                    "day": entry.day,
                    "reference": entry.reference,
                    "balance": services.credit_balance(subscription_contract=held),
                }
            ).data
            return Response(body, status=status.HTTP_201_CREATED)

        return idempotent(request, handle)

    # Credit consumption -----------------------------------------------------------------------

    @extend_schema(
        summary="Record credit consumption",
        description="On a credit-based product contract of the subscription; beyond the "
        "balance it is refused and changes nothing.",
        tags=["subscriptions"],
        request=ConsumptionInput,
        parameters=[
            CONTRACT_ID_PARAMETER,
            IDEMPOTENCY_PARAMETER,
        ],
        responses={201: CreditEntrySerializer},
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=r"contracts/(?P<contract_id>[0-9]+)/consumptions",
    )
    def consumptions(self, request, pk=None, contract_id=None):
        def handle() -> Response:
            subscription = self.get_object()
            held = get_object_or_404(
                SubscriptionContract.objects.select_related("contract"),
                pk=contract_id,
                subscription=subscription,
            )
            data = self._input(ConsumptionInput)
            lock_nowait(SubscriptionContract, held.pk)
            entry = services.credits_consume(
                subscription_contract=held,
                amount=data["amount"],
                day=clock.today(),
                reference=data["reference"],
            )
            body = CreditEntrySerializer(
                {
                    "id": entry.pk,
                    "kind": entry.kind,
                    "amount": entry.amount,
                    "day": entry.day,
                    "reference": entry.reference,
                    "balance": services.credit_balance(subscription_contract=held),
                }
            ).data
            return Response(body, status=status.HTTP_201_CREATED)

        return idempotent(request, handle)

    # Usage ------------------------------------------------------------------------------------

    @extend_schema(
        summary="Usage so far",
        description=(
            "The usage of each metric the plan charges, in the billing period containing "
            "today, and its estimated charge (before discounts; invoiced in arrears on the next "
            "period's invoice)."
        ),
        tags=["usage"],
        responses={200: SubscriptionUsageSerializer},
    )
    @action(detail=True, methods=["get"], url_path="usage")
    def usage(self, request, pk=None):
        subscription = self.get_object()
        today = clock.today()
        lines = usage_estimate(subscription, day=today)
        hide = self.tenant.role == Role.CUSTOMER and subscription.is_managed
        body = SubscriptionUsageSerializer(
            {"subscription": subscription.pk, "day": today, "metrics": lines},
            context={"hide_amounts": hide},
        ).data
        return Response(body)


# Usage events: the view -----------------------------------------------------------------------------------


class UsageEventViewSet(TenantMixin, viewsets.GenericViewSet):
    queryset = UsageEvent.objects.none()
    serializer_class = UsageEventInput  # OPTIONS describes it; the service parses the body

    def scoped(self, queryset):
        return queryset

    @extend_schema(
        summary="Record usage events",
        description=(
            "One event, or a batch of 1 to 1,000 under `events`, recorded all or nothing. A "
            "retried event (same customer and transaction id) is counted once and answered "
            "`duplicate`. 400: the errors of each refused event by its index "
            '(`{"events": {"3": {"timestamp": ["…"]}}}`; one event: its field errors), nothing '
            "recorded. 422: a hard usage limit would be passed, nothing recorded."
        ),
        tags=["usage"],
        request=UsageEventsRequest,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: UsageBatchSerializer, 422: UsageLimitSerializer},
    )
    def create(self, request):
        data = request.data
        single = not (isinstance(data, dict) and "events" in data)
        if single:
            events = [data]
        elif set(data) != {"events"}:
            return Response(
                {
                    name: [_("This operation takes no field of this name.")]
                    for name in sorted(set(data) - {"events"})
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        else:
            events = data["events"]

        def handle() -> Response:
            try:
                result = usage_events_record(events=events, customers=self.tenant.customers())
            except UsageBatchError as error:
                body = error.as_dict()
                if single and "0" in error.errors:
                    body = error.errors["0"]
                return Response(body, status=status.HTTP_400_BAD_REQUEST)
            except UsageLimitExceeded as error:
                return Response(error.as_dict(), status=status.HTTP_422_UNPROCESSABLE_ENTITY)
            # Written out, not through UsageBatchSerializer (which documents it): 1,000 outcomes
            # through DRF fields cost more than recording them.
            body = {
                "recorded": result.recorded,
                "duplicates": result.duplicates,
                "events": [
                    {
                        "index": o.index,
                        "transaction_id": o.transaction_id,
                        "status": o.status,
                        "subscription": o.subscription_id,
                    }
                    for o in result.events
                ],
            }
            return Response(body, status=status.HTTP_201_CREATED)

        return idempotent(request, handle)
