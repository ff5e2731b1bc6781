"""REST API, catalog (read-only): plans with their bundles, prices, terms, features and service
periods; bundles; terms; product contracts. Every role reads the catalog; only operators see
plans that are not for sale (draft, retired)."""

from __future__ import annotations

import django_filters
from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers, viewsets

from catalog.models import (
    Bundle,
    BundleItem,
    Discount,
    Plan,
    PlanFeature,
    PriceSheet,
    PriceTier,
    Product,
    ProductContract,
    Term,
)
from catalog.selectors import price_sheet_summary
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


class PriceTierSerializer(serializers.ModelSerializer):
    unit_price = MoneyField()
    flat_amount = MoneyField(allow_null=True)

    class Meta:
        model = PriceTier
        fields = ["first_unit", "last_unit", "unit_price", "flat_amount"]


class PriceSheetSerializer(serializers.ModelSerializer):
    period = serializers.SerializerMethodField()
    amount = MoneyField(allow_null=True)
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


class BundleSerializer(serializers.ModelSerializer):
    term = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    items = BundleItemSerializer(many=True, read_only=True)

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


class PlanFeatureSerializer(serializers.ModelSerializer):
    code = serializers.CharField(source="feature.code")
    name = serializers.CharField(source="feature.name")
    name_fr = serializers.CharField(source="feature.name_fr")
    kind = serializers.CharField(source="feature.kind")
    unit = serializers.CharField(source="feature.unit")

    class Meta:
        model = PlanFeature
        fields = ["code", "name", "name_fr", "kind", "unit", "enabled", "limit"]


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


def _items() -> QuerySet[BundleItem]:
    return BundleItem.objects.select_related(
        "product__seat_type",
        "product__tax_rate",
        "price_sheet",
        "discount__target_product",
        "discount__target_bundle",
    ).prefetch_related("price_sheet__tiers")


def bundles_with_items() -> QuerySet[Bundle]:
    return Bundle.objects.select_related("term").prefetch_related(
        Prefetch("items", queryset=_items())
    )


def terms() -> QuerySet[Term]:
    return Term.objects.select_related("renewal_term", "tax_rate")


def plans_with_everything() -> QuerySet[Plan]:
    return Plan.objects.select_related(
        "term__renewal_term", "term__tax_rate", "upgrade_group"
    ).prefetch_related(
        Prefetch("bundles", queryset=bundles_with_items()),
        Prefetch("addon_bundles", queryset=Bundle.objects.order_by("code")),
        Prefetch("plan_features", queryset=PlanFeature.objects.select_related("feature")),
        "service_periods",
    )


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
