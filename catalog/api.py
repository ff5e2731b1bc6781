"""REST API, catalog (read-only): plans with their bundles, prices, terms, features, service
periods, usage charges and product contract; bundles; terms; product contracts; billable
metrics. Every role reads the catalog; only operators see
plans that are not for sale (draft, retired)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import django_filters
from django.db.models import Prefetch, QuerySet, prefetch_related_objects
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers, viewsets

from catalog.models import (
    BillableMetric,
    Bundle,
    BundleFeature,
    BundleItem,
    Discount,
    Feature,
    Plan,
    PlanFeature,
    PriceSheet,
    PriceTier,
    PricingModel,
    Product,
    ProductContract,
    Term,
    UsageCharge,
)
from catalog.selectors import price_sheet_summary
from core.money import money_decimal
from integrations.serializers import MoneyField, PercentField, PeriodSerializer, period_or_none
from integrations.viewsets import TenantMixin

# Serializers -----------------------------------------------------------------------------------


class ProductSerializer(serializers.ModelSerializer):
    seat_type = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    tax_rate = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)

    class Meta:
        model = Product
        fields = [
            "id",
            "code",
            "name",
            "name_fr",
            "description",
            "description_fr",
            "seat_type",
            "tax_rate",
        ]


@extend_schema_field(
    {
        "type": "string",
        "pattern": r"^-?\d+(\.\d+)?$",
        "example": "0.002",
        "description": "A price, as a decimal string: the currency's decimals (10.00), or "
        "more for a unit price finer than them (0.002 EUR per API call).",
    }
)
class PriceField(MoneyField):
    """A price sheet's amount or a tier's price: like MoneyField, but a unit price below the
    currency's minor unit keeps its decimals rather than being rounded to 0.00."""

    def to_representation(self, value):
        amount, currency = value
        amount = getattr(amount, "amount", amount)
        if amount is None:
            return None
        exact = money_decimal(amount, currency)
        return exact if Decimal(exact) == amount else f"{amount.normalize():f}"


class PriceTierSerializer(serializers.ModelSerializer):
    unit_price = PriceField()
    flat_amount = PriceField(allow_null=True)

    class Meta:
        model = PriceTier
        fields = ["first_unit", "last_unit", "unit_price", "flat_amount"]


class PriceSheetSerializer(serializers.ModelSerializer):
    period = serializers.SerializerMethodField()
    amount = PriceField(allow_null=True)
    tiers = PriceTierSerializer(many=True, read_only=True)
    summary = serializers.SerializerMethodField()

    class Meta:
        model = PriceSheet
        fields = [
            "id",
            "code",
            "name",
            "currency",
            "pricing_model",
            "period",
            "amount",
            "package_size",
            "tiers",
            "summary",
        ]

    @extend_schema_field(PeriodSerializer)
    def get_period(self, sheet: PriceSheet) -> dict:
        return {"count": sheet.period_count, "unit": sheet.period_unit}

    def get_summary(self, sheet: PriceSheet) -> str:
        return price_sheet_summary(sheet)


class DiscountSerializer(serializers.ModelSerializer):
    percentage = PercentField(allow_null=True)
    amount = MoneyField(allow_null=True)
    target_product = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True
    )
    target_bundle = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)

    class Meta:
        model = Discount
        fields = [
            "id",
            "code",
            "name",
            "name_fr",
            "kind",
            "percentage",
            "amount",
            "currency",
            "target",
            "target_product",
            "target_bundle",
            "duration",
            "duration_periods",
            "sequence",
        ]


class BundleItemSerializer(serializers.ModelSerializer):
    product = ProductSerializer(read_only=True, allow_null=True)
    price_sheet = PriceSheetSerializer(read_only=True, allow_null=True)
    discount = DiscountSerializer(read_only=True, allow_null=True)

    class Meta:
        model = BundleItem
        fields = ["kind", "product", "price_sheet", "discount", "required", "quantity", "position"]


class FeatureValueSerializer(serializers.ModelSerializer):
    """A feature's value in a plan or an add-on bundle."""

    code = serializers.CharField(source="feature.code")
    name = serializers.CharField(source="feature.name")
    name_fr = serializers.CharField(source="feature.name_fr")
    kind = serializers.CharField(source="feature.kind")
    unit = serializers.CharField(source="feature.unit")
    metric = serializers.SlugRelatedField(
        source="feature.metric",
        slug_field="code",
        read_only=True,
        allow_null=True,
        help_text="The billable metric the limit is counted against, if any.",
    )
    enforcement = serializers.ChoiceField(
        source="feature.enforcement",
        choices=Feature.Enforcement.choices,
        read_only=True,
        help_text="What happens beyond a limit counted against usage: none, soft, hard.",
    )

    class Meta:
        model = PlanFeature
        fields = [
            "code",
            "name",
            "name_fr",
            "kind",
            "unit",
            "metric",
            "enforcement",
            "enabled",
            "limit",
        ]


class BundleFeatureSerializer(FeatureValueSerializer):
    class Meta(FeatureValueSerializer.Meta):
        model = BundleFeature


class BundleSerializer(serializers.ModelSerializer):
    term = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    items = BundleItemSerializer(many=True, read_only=True)
    contract = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    features = BundleFeatureSerializer(source="bundle_features", many=True, read_only=True)

    class Meta:
        model = Bundle
        fields = [
            "id",
            "code",
            "name",
            "name_fr",
            "description",
            "description_fr",
            "valid_from",
            "valid_until",
            "term",
            "items",
            "contract",
            "features",
        ]


class TermSerializer(serializers.ModelSerializer):
    commitment = serializers.SerializerMethodField()
    grace_period = serializers.SerializerMethodField()
    notice_period = serializers.SerializerMethodField()
    seat_reduction_freeze = serializers.SerializerMethodField()
    penalty_cap = MoneyField(allow_null=True)
    renewal_term = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    tax_rate = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)

    class Meta:
        model = Term
        fields = [
            "id",
            "code",
            "name",
            "name_fr",
            "description",
            "description_fr",
            "commitment_basis",
            "commitment_count",
            "commitment",
            "early_termination",
            "grace_period",
            "currency",
            "penalty_cap",
            "penalty_prorated",
            "renewal_term",
            "auto_renew",
            "notice_period",
            "seat_reduction_freeze",
            "tax_rate",
        ]

    @extend_schema_field(PeriodSerializer(allow_null=True))
    def get_commitment(self, term: Term) -> dict | None:
        """A calendar commitment's length (a commitment in billing cycles: commitment_count)."""
        return period_or_none(term.commitment_count, term.commitment_unit)

    @extend_schema_field(PeriodSerializer(allow_null=True))
    def get_grace_period(self, term: Term) -> dict | None:
        return period_or_none(term.grace_count, term.grace_unit)

    @extend_schema_field(PeriodSerializer(allow_null=True))
    def get_notice_period(self, term: Term) -> dict | None:
        return period_or_none(term.notice_count, term.notice_unit)

    @extend_schema_field(PeriodSerializer(allow_null=True))
    def get_seat_reduction_freeze(self, term: Term) -> dict | None:
        return period_or_none(term.freeze_count, term.freeze_unit)


class PlanFeatureSerializer(FeatureValueSerializer):
    pass


class BillableMetricSerializer(serializers.ModelSerializer):
    filters = serializers.DictField(
        child=serializers.ListField(child=serializers.JSONField()),
        read_only=True,
        help_text="Only events whose properties have one of these values.",
    )

    class Meta:
        model = BillableMetric
        fields = [
            "id",
            "code",
            "name",
            "name_fr",
            "event_code",
            "aggregation",
            "field",
            "filters",
            "unit",
        ]


class UsageChargeSerializer(serializers.ModelSerializer):
    """A metric's usage over each billing period, billed in arrears (billing-rules §12)."""

    metric = serializers.CharField(source="metric.code")
    event_code = serializers.CharField(source="metric.event_code")
    aggregation = serializers.ChoiceField(
        source="metric.aggregation", choices=BillableMetric.Aggregation.choices
    )
    unit = serializers.CharField(source="metric.unit")
    pricing_model = serializers.ChoiceField(
        source="price_sheet.pricing_model", choices=PricingModel.choices
    )
    price_sheet = PriceSheetSerializer(read_only=True)

    class Meta:
        model = UsageCharge
        fields = [
            "metric",
            "event_code",
            "aggregation",
            "unit",
            "pricing_model",
            "price_sheet",
            "position",
        ]


class ServicePeriodSerializer(serializers.Serializer):
    years = serializers.IntegerField()
    discount_percent = PercentField()


class UpgradeGroupSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    rank = serializers.IntegerField()


class PlanSerializer(serializers.ModelSerializer):
    billing_period = serializers.SerializerMethodField()
    trial = serializers.SerializerMethodField()
    term = TermSerializer(read_only=True, allow_null=True)
    upgrade_group = serializers.SerializerMethodField()
    bundles = BundleSerializer(many=True, read_only=True)
    addon_bundles = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    features = PlanFeatureSerializer(source="plan_features", many=True, read_only=True)
    service_periods = ServicePeriodSerializer(many=True, read_only=True)
    usage_charges = UsageChargeSerializer(many=True, read_only=True)
    contract = serializers.SlugRelatedField(
        slug_field="code",
        read_only=True,
        allow_null=True,
        help_text="The product contract selling the plan gives (see /product-contracts/).",
    )

    class Meta:
        model = Plan
        fields = [
            "id",
            "code",
            "name",
            "name_fr",
            "description",
            "description_fr",
            "status",
            "currency",
            "billing_period",
            "trial",
            "minimum_commitment_occurrences",
            "valid_from",
            "valid_until",
            "payment_types",
            "manual_fulfilment",
            "term",
            "upgrade_group",
            "bundles",
            "addon_bundles",
            "compatible_addons_only",
            "features",
            "service_periods",
            "usage_charges",
            "contract",
        ]

    @extend_schema_field(PeriodSerializer)
    def get_billing_period(self, plan: Plan) -> dict:
        return {"count": plan.billing_period_count, "unit": plan.billing_period_unit}

    @extend_schema_field(PeriodSerializer(allow_null=True))
    def get_trial(self, plan: Plan) -> dict | None:
        return period_or_none(plan.trial_count, plan.trial_unit)

    @extend_schema_field(UpgradeGroupSerializer(allow_null=True))
    def get_upgrade_group(self, plan: Plan) -> dict | None:
        group = plan.upgrade_group
        if group is None:
            return None
        return {"code": group.code, "name": group.name, "rank": plan.upgrade_rank}


class ProductContractSerializer(serializers.ModelSerializer):
    product = ProductSerializer(read_only=True)
    price_sheet = PriceSheetSerializer(read_only=True, allow_null=True)
    runtime_length = serializers.SerializerMethodField()
    accounting_period = serializers.SerializerMethodField()
    interval = serializers.SerializerMethodField()
    cancellation_period = serializers.SerializerMethodField()
    credit_amount = serializers.DecimalField(
        max_digits=12, decimal_places=2, read_only=True, allow_null=True
    )

    class Meta:
        model = ProductContract
        fields = [
            "id",
            "code",
            "name",
            "name_fr",
            "kind",
            "product",
            "price_sheet",
            "runtime",
            "runtime_length",
            "accounting_period",
            "interval",
            "cancellation_period",
            "issues_per_period",
            "chargeable_issues",
            "repeat_until_cancelled",
            "credit_amount",
            "credit_intervals",
        ]

    @extend_schema_field(PeriodSerializer(allow_null=True))
    def get_runtime_length(self, contract: ProductContract) -> dict | None:
        return period_or_none(contract.runtime_count, contract.runtime_unit)

    @extend_schema_field(PeriodSerializer(allow_null=True))
    def get_accounting_period(self, contract: ProductContract) -> dict | None:
        return period_or_none(contract.accounting_period_count, contract.accounting_period_unit)

    @extend_schema_field(PeriodSerializer(allow_null=True))
    def get_interval(self, contract: ProductContract) -> dict | None:
        """Time-based: the subscription interval; issue-based: the issues' billing period."""
        return period_or_none(contract.interval_count, contract.interval_unit)

    @extend_schema_field(PeriodSerializer(allow_null=True))
    def get_cancellation_period(self, contract: ProductContract) -> dict | None:
        return period_or_none(contract.cancellation_count, contract.cancellation_unit)


# Querysets: everything a page of the list shows, in a fixed number of queries ------------------


def _items(*, tiers: bool = True) -> QuerySet[BundleItem]:
    items = BundleItem.objects.select_related(
        "product__seat_type",
        "product__tax_rate",
        "price_sheet",
        "discount__target_product",
        "discount__target_bundle",
    )
    return items.prefetch_related("price_sheet__tiers") if tiers else items


def bundles_with_items(*, tiers: bool = True) -> QuerySet[Bundle]:
    """`tiers=False`: the price sheets' tiers are left to `with_tiers` (one query for the
    sheets of the items and of the usage charges of a page of plans)."""
    return Bundle.objects.select_related("term", "contract").prefetch_related(
        Prefetch("items", queryset=_items(tiers=tiers)),
        Prefetch(
            "bundle_features", queryset=BundleFeature.objects.select_related("feature__metric")
        ),
    )


def terms() -> QuerySet[Term]:
    return Term.objects.select_related("renewal_term", "tax_rate")


def plans_with_everything() -> QuerySet[Plan]:
    """Everything but the price sheets' tiers, which `with_tiers` adds to the plans read."""
    return Plan.objects.select_related(
        "term__renewal_term", "term__tax_rate", "upgrade_group", "contract"
    ).prefetch_related(
        Prefetch("bundles", queryset=bundles_with_items(tiers=False)),
        Prefetch("addon_bundles", queryset=Bundle.objects.order_by("code")),
        Prefetch("plan_features", queryset=PlanFeature.objects.select_related("feature__metric")),
        "service_periods",
        Prefetch(
            "usage_charges", queryset=UsageCharge.objects.select_related("metric", "price_sheet")
        ),
    )


def with_tiers(plans: Sequence[Plan]) -> Sequence[Plan]:
    """The tiers of every price sheet the plans show (their bundles' and their usage
    charges'), in one query."""
    sheets = [
        item.price_sheet
        for plan in plans
        for bundle in plan.bundles.all()
        for item in bundle.items.all()
        if item.price_sheet is not None
    ] + [charge.price_sheet for plan in plans for charge in plan.usage_charges.all()]
    prefetch_related_objects(sheets, "tiers")
    return plans


# Filters ---------------------------------------------------------------------------------------


class PlanFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Plan.Status.choices)
    currency = django_filters.CharFilter()
    code = django_filters.CharFilter()
    upgrade_group = django_filters.CharFilter(field_name="upgrade_group__code")

    class Meta:
        model = Plan
        fields = ["status", "currency", "code", "upgrade_group"]


class CodeFilter(django_filters.FilterSet):
    code = django_filters.CharFilter()


class BundleFilter(CodeFilter):
    class Meta:
        model = Bundle
        fields = ["code"]


class TermFilter(CodeFilter):
    class Meta:
        model = Term
        fields = ["code"]


class BillableMetricFilter(CodeFilter):
    aggregation = django_filters.ChoiceFilter(choices=BillableMetric.Aggregation.choices)
    event_code = django_filters.CharFilter()

    class Meta:
        model = BillableMetric
        fields = ["code", "aggregation", "event_code"]


class ProductContractFilter(CodeFilter):
    kind = django_filters.ChoiceFilter(choices=ProductContract.Kind.choices)

    class Meta:
        model = ProductContract
        fields = ["code", "kind"]


# Views -----------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="List plans", tags=["catalog"]),
    retrieve=extend_schema(summary="A plan", tags=["catalog"]),
)
class PlanViewSet(TenantMixin, viewsets.ReadOnlyModelViewSet):
    """Plans with their bundles (products, prices, discounts), term, features and service
    periods. Partners and customers see only the plans for sale."""

    serializer_class = PlanSerializer
    filterset_class = PlanFilter
    queryset = plans_with_everything().order_by("code", "id")

    def scoped(self, queryset: QuerySet[Plan]) -> QuerySet[Plan]:
        if self.tenant.is_operator:
            return queryset
        return queryset.filter(status=Plan.Status.ACTIVE)

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        return with_tiers(page) if page is not None else None

    def get_object(self) -> Plan:
        plan = super().get_object()
        with_tiers([plan])
        return plan


@extend_schema_view(
    list=extend_schema(summary="List bundles", tags=["catalog"]),
    retrieve=extend_schema(summary="A bundle", tags=["catalog"]),
)
class BundleViewSet(TenantMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = BundleSerializer
    filterset_class = BundleFilter
    queryset = bundles_with_items().order_by("code", "id")

    def scoped(self, queryset):
        return queryset


@extend_schema_view(
    list=extend_schema(summary="List terms", tags=["catalog"]),
    retrieve=extend_schema(summary="A term", tags=["catalog"]),
)
class TermViewSet(TenantMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = TermSerializer
    filterset_class = TermFilter
    queryset = terms().order_by("code", "id")

    def scoped(self, queryset):
        return queryset


@extend_schema_view(
    list=extend_schema(summary="List product contracts", tags=["catalog"]),
    retrieve=extend_schema(summary="A product contract", tags=["catalog"]),
)
class ProductContractViewSet(TenantMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = ProductContractSerializer
    filterset_class = ProductContractFilter
    queryset = (
        ProductContract.objects.select_related(
            "product__seat_type", "product__tax_rate", "price_sheet"
        )
        .prefetch_related("price_sheet__tiers")
        .order_by("code", "id")
    )

    def scoped(self, queryset):
        return queryset


@extend_schema_view(
    list=extend_schema(summary="List billable metrics", tags=["catalog"]),
    retrieve=extend_schema(summary="A billable metric", tags=["catalog"]),
)
class BillableMetricViewSet(TenantMixin, viewsets.ReadOnlyModelViewSet):
    """What usage events count (billing-rules §12): the events of a code, aggregated over a
    billing period; plans charge them (usage_charges) and limits count against them."""

    serializer_class = BillableMetricSerializer
    filterset_class = BillableMetricFilter
    queryset = BillableMetric.objects.order_by("code", "id")

    def scoped(self, queryset):
        return queryset
