"""The catalog in the admin: every object with a searchable, filterable changelist, a change form
with inlines and autocomplete, refusals shown as form errors, and its audit history."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import Count
from django.http import HttpRequest
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from catalog import selectors, services
from catalog.admin_base import (
    CadenceAdmin,
    CadenceInline,
    ServiceValidatedForm,
    ValidatedInlineFormSet,
)
from catalog.models import (
    BillableMetric,
    Bundle,
    BundleFeature,
    BundleItem,
    CouponCampaign,
    CouponCode,
    Discount,
    Feature,
    OffersGrid,
    OffersGridPlan,
    PaymentType,
    Plan,
    PlanFeature,
    PriceSheet,
    PriceTier,
    Product,
    ProductContract,
    SeatType,
    SellerProfile,
    ServicePeriodOption,
    TaxRate,
    TaxRule,
    Term,
    TimeUnit,
    UpgradeGroup,
    UsageCharge,
)
from core import clock
from core.errors import ApplicationError
from core.pricing import Tier

# Tax rates, seat types, products, features ------------------------------------------------------


@admin.register(TaxRate)
class TaxRateAdmin(CadenceAdmin):
    list_display = ["code", "name", "rate", "category", "country", "is_standard", "is_active"]
    list_filter = ["is_active", "category", "is_standard", "country"]
    search_fields = ["code", "name", "country"]
    fieldsets = [
        (None, {"fields": ["code", "name", "rate", "is_active"]}),
        (_("Where it applies"), {"fields": ["country", "is_standard"]}),
        (
            _("VAT category (e-invoices)"),
            {"fields": ["category", "exemption_code", "exemption_reason"]},
        ),
    ]


@admin.register(TaxRule)
class TaxRuleAdmin(CadenceAdmin):
    """billing-rules §10. The built-in EU rules apply to any case no row covers."""

    list_display = [
        "seller_country",
        "customer_zone",
        "customer_country",
        "customer_kind",
        "category",
        "rate_source",
    ]
    list_filter = ["seller_country", "customer_zone", "customer_kind", "category"]
    search_fields = ["customer_country", "mention_en", "mention_fr"]

    def changelist_view(self, request: HttpRequest, extra_context=None):
        messages.info(
            request,
            _(
                "A sale is taxed by the most specific rule for the seller's country: a named "
                "country before its zone, a customer kind before any. Cases no rule covers "
                "follow the built-in EU rules: at home the product's rate (S); a business of "
                "another member state with a VAT number, reverse charge (AE); a consumer there, "
                "the standard rate of its country (S, One-Stop Shop); outside the EU, not "
                "subject to VAT (O)."
            ),
        )
        return super().changelist_view(request, extra_context)


@admin.register(SellerProfile)
class SellerProfileAdmin(CadenceAdmin):
    """The seller printed on invoices and written into e-invoices: one profile."""

    list_display = ["legal_name", "siren", "vat_number", "country"]
    fieldsets = [
        (
            _("Legal identity"),
            {
                "fields": [
                    "legal_name",
                    "trade_name",
                    "legal_form",
                    "registration_office",
                    "siren",
                    "siret",
                    "vat_number",
                ]
            },
        ),
        (
            _("Address and contact"),
            {
                "fields": [
                    "address_line1",
                    "address_line2",
                    "postal_code",
                    "city",
                    "country",
                    "email",
                    "phone",
                ]
            },
        ),
        (
            _("E-invoicing and payment"),
            {
                "fields": [
                    "electronic_address",
                    "electronic_address_scheme",
                    "invoicing_framework",
                    "iban",
                    "bic",
                ]
            },
        ),
        (
            _("Invoice texts"),
            {"fields": ["late_payment_penalty", "footer_en", "footer_fr"]},
        ),
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # One seller: edit the profile rather than adding another.
        return super().has_add_permission(request) and not SellerProfile.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def get_changeform_initial_data(self, request: HttpRequest) -> dict:
        # The first profile starts from the environment's SELLER_* settings it replaces.
        current = SellerProfile.current()
        return {
            f.name: getattr(current, f.name)
            for f in SellerProfile._meta.concrete_fields
            if f.name not in ("id",)
        }


@admin.register(SeatType)
class SeatTypeAdmin(CadenceAdmin):
    list_display = ["code", "name", "name_fr", "product_count"]
    search_fields = ["code", "name", "name_fr"]

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).annotate(_products=Count("products"))

    @admin.display(description=_("products"), ordering="_products")
    def product_count(self, obj: SeatType) -> int:
        return obj._products


class PriceSheetLinkInline(admin.TabularInline):
    """The product's price sheets, each opened in its own form (they have tiers)."""

    model = PriceSheet
    fields = [
        "code",
        "currency",
        "pricing_model",
        "period_count",
        "period_unit",
        "amount",
        "package_size",
    ]
    readonly_fields = fields
    extra = 0
    show_change_link = True
    can_delete = False
    verbose_name_plural = _("price sheets (open one to edit it and its tiers)")

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Product)
class ProductAdmin(CadenceAdmin):
    list_display = ["code", "name", "seat_type", "tax_rate", "ledger_account", "is_active"]
    list_filter = ["is_active", "seat_type", "tax_rate"]
    search_fields = ["code", "name", "name_fr", "description"]
    autocomplete_fields = ["seat_type", "tax_rate"]
    list_select_related = ["seat_type", "tax_rate"]
    inlines = [PriceSheetLinkInline]
    fieldsets = [
        (None, {"fields": ["code", "seat_type", "is_active"]}),
        (_("Texts"), {"fields": ["name", "name_fr", "description", "description_fr"]}),
        (_("Accounting"), {"fields": ["tax_rate", "ledger_account", "invoice_item_type"]}),
    ]


@admin.register(Feature)
class FeatureAdmin(CadenceAdmin):
    list_display = ["code", "name", "kind", "unit", "metric", "enforcement"]
    list_filter = ["kind", "enforcement", "metric"]
    search_fields = ["code", "name", "name_fr"]
    autocomplete_fields = ["metric"]
    list_select_related = ["metric"]
    validator = staticmethod(lambda feature: services.feature_validate(feature=feature))
    fieldsets = [
        (None, {"fields": ["code", "name", "name_fr", "kind", "unit", "unit_fr"]}),
        (
            _("Limit counted against usage"),
            {
                "fields": ["metric", "enforcement"],
                "description": _(
                    "For a limit only: the metric counts what is used of it over the billing "
                    "period; the enforcement says what happens beyond it."
                ),
            },
        ),
    ]


# Billable metrics -------------------------------------------------------------------------------


@admin.register(BillableMetric)
class BillableMetricAdmin(CadenceAdmin):
    """billing-rules §12: what usage events count, and how."""

    list_display = [
        "code",
        "name",
        "event_code",
        "aggregation",
        "field",
        "filters",
        "unit",
        "charge_count",
    ]
    list_filter = ["aggregation", "unit"]
    search_fields = ["code", "name", "name_fr", "event_code", "field"]
    validator = staticmethod(lambda metric: services.billable_metric_validate(metric=metric))
    fieldsets = [
        (None, {"fields": ["code", "name", "name_fr", "unit"]}),
        (
            _("What it counts"),
            {
                "fields": ["event_code", "aggregation", "field", "filters"],
                "description": _(
                    "The usage events of this code over a billing period: counted, counted once "
                    "per distinct value of a property, or a property's sum, maximum or latest "
                    "value."
                ),
            },
        ),
    ]

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).annotate(_charges=Count("charges"))

    @admin.display(description=_("plans charging it"), ordering="_charges")
    def charge_count(self, obj: BillableMetric) -> int:
        return obj._charges


# Price sheets -----------------------------------------------------------------------------------


class PriceTierFormSet(ValidatedInlineFormSet):
    def validate(self, parent: PriceSheet, rows: list[PriceTier]) -> None:
        for tier in rows:
            tier.currency = parent.currency  # a tier is always in its sheet's currency
        services.price_sheet_validate(
            sheet=parent,
            tiers=[
                Tier(
                    t.first_unit,
                    t.last_unit,
                    t.unit_price.amount,
                    t.flat_amount.amount if t.flat_amount is not None else 0,
                )
                for t in rows
            ],
            tier_currencies={parent.currency},
        )


class PriceTierInline(CadenceInline):
    model = PriceTier
    formset = PriceTierFormSet
    fields = ["first_unit", "last_unit", "unit_price", "flat_amount"]
    extra = 0


@admin.register(PriceSheet)
class PriceSheetAdmin(CadenceAdmin):
    list_display = [
        "code",
        "name",
        "product",
        "currency",
        "pricing_model",
        "period_display",
        "amount",
        "package_size",
    ]
    list_filter = ["currency", "pricing_model", "period_unit"]
    search_fields = ["code", "name", "product__code", "product__name"]
    autocomplete_fields = ["product"]
    list_select_related = ["product"]
    inlines = [PriceTierInline]
    validator = staticmethod(lambda sheet: services.price_sheet_row_validate(sheet=sheet))
    fieldsets = [
        (None, {"fields": ["code", "name", "name_fr", "product"]}),
        (
            _("Price"),
            {
                "fields": [
                    "currency",
                    ("period_count", "period_unit"),
                    "pricing_model",
                    "amount",
                    "package_size",
                ],
                "description": _(
                    "The price is for its own period (for example 60.00 per seat per year); a "
                    "billing period of another length is charged in proportion. Graduated and "
                    "volume prices take their amounts from the tiers below. A package price "
                    "charges its amount for each started package of its number of units."
                ),
            },
        ),
    ]

    @admin.display(description=_("period"), ordering="period_unit")
    def period_display(self, obj: PriceSheet) -> str:
        return str(obj.period)


# Discounts, bundles, terms ----------------------------------------------------------------------


@admin.register(Discount)
class DiscountAdmin(CadenceAdmin):
    list_display = [
        "code",
        "name",
        "kind",
        "value",
        "target_display",
        "duration_display",
        "sequence",
        "is_active",
    ]
    list_filter = ["kind", "target", "duration", "is_active"]
    search_fields = ["code", "name", "name_fr"]
    autocomplete_fields = ["target_product", "target_bundle"]
    list_select_related = ["target_product", "target_bundle"]
    validator = staticmethod(lambda discount: services.discount_validate(discount=discount))
    fieldsets = [
        (None, {"fields": ["code", "name", "name_fr", "is_active"]}),
        (_("Value"), {"fields": ["kind", "percentage", "currency", "amount"]}),
        (_("Target"), {"fields": ["target", "target_product", "target_bundle"]}),
        (_("Duration and order"), {"fields": ["duration", "duration_periods", "sequence"]}),
    ]

    @admin.display(description=_("value"))
    def value(self, obj: Discount) -> str:
        return obj.describe_value()

    @admin.display(description=_("target"), ordering="target")
    def target_display(self, obj: Discount) -> str:
        if obj.target_product_id:
            return f"{obj.get_target_display()}: {obj.target_product.code}"
        if obj.target_bundle_id:
            return f"{obj.get_target_display()}: {obj.target_bundle.code}"
        return obj.get_target_display()

    @admin.display(description=_("duration"), ordering="duration")
    def duration_display(self, obj: Discount) -> str:
        if obj.duration == Discount.Duration.PERIODS:
            return ngettext("%(n)s period", "%(n)s periods", obj.duration_periods) % {
                "n": obj.duration_periods
            }
        return obj.get_duration_display()


class BundleItemFormSet(ValidatedInlineFormSet):
    def validate(self, parent: Bundle, rows: list[BundleItem]) -> None:
        services.bundle_items_validate(bundle=parent, items=rows)


class BundleItemInline(CadenceInline):
    model = BundleItem
    formset = BundleItemFormSet
    fields = ["position", "kind", "product", "price_sheet", "discount", "required", "quantity"]
    autocomplete_fields = ["product", "price_sheet", "discount"]
    extra = 0


class BundleFeatureFormSet(ValidatedInlineFormSet):
    def validate(self, parent: Bundle, rows: list[BundleFeature]) -> None:
        services.bundle_features_validate(features=rows)


class BundleFeatureInline(CadenceInline):
    """The features an add-on gives: its limits add to the plan's."""

    model = BundleFeature
    formset = BundleFeatureFormSet
    fields = ["feature", "enabled", "limit"]
    autocomplete_fields = ["feature"]


@admin.register(Bundle)
class BundleAdmin(CadenceAdmin):
    list_display = [
        "code",
        "name",
        "valid_from",
        "valid_until",
        "term",
        "contract",
        "item_count",
        "plan_count",
    ]
    list_filter = ["term", "valid_from", "valid_until"]
    search_fields = ["code", "name", "name_fr"]
    autocomplete_fields = ["term", "contract"]
    list_select_related = ["term", "contract"]
    inlines = [BundleItemInline, BundleFeatureInline]
    validator = staticmethod(lambda bundle: services.bundle_validate(bundle=bundle))
    fieldsets = [
        (None, {"fields": ["code", "term", ("valid_from", "valid_until")]}),
        (_("Texts"), {"fields": ["name", "name_fr", "description", "description_fr"]}),
        (
            _("Product contract"),
            {
                "fields": ["contract"],
                "description": _(
                    "Selling the bundle, in a plan or as an add-on, gives the subscription this "
                    "contract; it is billed with the plan's billing periods."
                ),
            },
        ),
    ]

    def get_queryset(self, request: HttpRequest):
        return (
            super()
            .get_queryset(request)
            .annotate(_items=Count("items", distinct=True), _plans=Count("plans", distinct=True))
        )

    @admin.display(description=_("items"), ordering="_items")
    def item_count(self, obj: Bundle) -> int:
        return obj._items

    @admin.display(description=_("plans"), ordering="_plans")
    def plan_count(self, obj: Bundle) -> int:
        return obj._plans


@admin.register(Term)
class TermAdmin(CadenceAdmin):
    list_display = [
        "code",
        "name",
        "commitment_display",
        "early_termination",
        "notice_display",
        "freeze_display",
        "auto_renew",
        "renewal_term",
    ]
    list_filter = ["early_termination", "commitment_basis", "auto_renew", "penalty_prorated"]
    search_fields = ["code", "name", "name_fr"]
    autocomplete_fields = ["renewal_term", "tax_rate"]
    list_select_related = ["renewal_term"]
    validator = staticmethod(lambda term: services.term_validate(term=term))
    fieldsets = [
        (None, {"fields": ["code", "name", "name_fr"]}),
        (
            _("Commitment"),
            {"fields": ["commitment_basis", ("commitment_count", "commitment_unit")]},
        ),
        (
            _("Early termination"),
            {
                "fields": [
                    "early_termination",
                    ("grace_count", "grace_unit"),
                    ("currency", "penalty_cap"),
                    "penalty_prorated",
                ]
            },
        ),
        (
            _("Renewal, notice and seats"),
            {
                "fields": [
                    "auto_renew",
                    "renewal_term",
                    ("notice_count", "notice_unit"),
                    ("freeze_count", "freeze_unit"),
                ]
            },
        ),
        (_("Invoicing"), {"fields": ["tax_rate", "ledger_account", "invoice_item_type"]}),
        (_("Text of the terms"), {"fields": ["description", "description_fr"]}),
    ]

    @staticmethod
    def _count_unit(count: int, unit: str) -> str:
        return f"{count} {TimeUnit(unit).label}"

    @admin.display(description=_("commitment"))
    def commitment_display(self, obj: Term) -> str:
        if not obj.commitment_count:
            return "—"
        if obj.commitment_basis == Term.CommitmentBasis.BILLING_CYCLES:
            return ngettext("%(n)s billing cycle", "%(n)s billing cycles", obj.commitment_count) % {
                "n": obj.commitment_count
            }
        return self._count_unit(obj.commitment_count, obj.commitment_unit)

    @admin.display(description=_("notice"))
    def notice_display(self, obj: Term) -> str:
        return self._count_unit(obj.notice_count, obj.notice_unit) if obj.notice_count else "—"

    @admin.display(description=_("seat freeze"))
    def freeze_display(self, obj: Term) -> str:
        return self._count_unit(obj.freeze_count, obj.freeze_unit) if obj.freeze_count else "—"


# Plans ------------------------------------------------------------------------------------------


class PlanFeatureFormSet(ValidatedInlineFormSet):
    def validate(self, parent: Plan, rows: list[PlanFeature]) -> None:
        services.plan_features_validate(features=rows)


class PlanFeatureInline(CadenceInline):
    model = PlanFeature
    formset = PlanFeatureFormSet
    fields = ["feature", "enabled", "limit"]
    autocomplete_fields = ["feature"]


class UsageChargeFormSet(ValidatedInlineFormSet):
    def validate(self, parent: Plan, rows: list[UsageCharge]) -> None:
        services.usage_charges_validate(plan=parent, charges=rows)


class UsageChargeInline(CadenceInline):
    """billing-rules §12: each metric's usage over a billing period, billed in arrears."""

    model = UsageCharge
    formset = UsageChargeFormSet
    fields = ["position", "metric", "price_sheet"]
    autocomplete_fields = ["metric", "price_sheet"]


class ServicePeriodInline(CadenceInline):
    model = ServicePeriodOption
    fields = ["years", "discount_percent"]


class PlanForm(ServiceValidatedForm):
    payment_types = forms.MultipleChoiceField(
        label=_("supported payment types"),
        choices=PaymentType.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    class Meta:
        model = Plan
        fields = "__all__"


@admin.register(Plan)
class PlanAdmin(CadenceAdmin):
    form = PlanForm
    list_display = [
        "code",
        "name",
        "status",
        "currency",
        "billing_period_display",
        "trial_display",
        "minimum_commitment_occurrences",
        "term",
        "upgrade_group",
        "upgrade_rank",
        "manual_fulfilment",
    ]
    list_filter = [
        "status",
        "currency",
        "billing_period_unit",
        "upgrade_group",
        "manual_fulfilment",
        "term",
    ]
    search_fields = ["code", "name", "name_fr", "description"]
    autocomplete_fields = ["term", "upgrade_group", "bundles", "addon_bundles", "contract"]
    list_select_related = ["term", "upgrade_group"]
    inlines = [PlanFeatureInline, UsageChargeInline, ServicePeriodInline]
    actions = ["activate", "retire", "reactivate"]
    validator = staticmethod(lambda plan: services.plan_validate(plan=plan))
    fieldsets = [
        (None, {"fields": ["code", "status", "currency"]}),
        (_("Offer texts"), {"fields": ["name", "name_fr", "description", "description_fr"]}),
        (
            _("Billing"),
            {
                "fields": [
                    ("billing_period_count", "billing_period_unit"),
                    ("trial_count", "trial_unit"),
                    "minimum_commitment_occurrences",
                    "term",
                    "payment_types",
                ],
                "description": _(
                    "Monthly is 1 month, quarterly 3 months, semi-annual 6 months, yearly 1 year."
                ),
            },
        ),
        (_("Validity"), {"fields": [("valid_from", "valid_until")]}),
        (
            _("Contents"),
            {
                "fields": [
                    "bundles",
                    "prices",
                    "addon_bundles",
                    "compatible_addons_only",
                    "contract",
                ]
            },
        ),
        (
            _("Upgrades and fulfilment"),
            {"fields": ["upgrade_group", "upgrade_rank", "manual_fulfilment"]},
        ),
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: Plan | None = None):
        # Status moves only through the actions, which check that the plan can be sold.
        return ["status", "prices"]

    @admin.display(description=_("prices"))
    def prices(self, obj: Plan) -> str:
        if obj.pk is None:
            return "—"
        lines = selectors.plan_price_lines(obj)
        problems = (
            services.plan_sellability_problems(plan=obj) if obj.status != Plan.Status.ACTIVE else []
        )
        html = format_html_join("", "<li>{}</li>", ((line,) for line in lines))
        warning = (
            format_html(
                '<p class="errornote">{}: {}</p>', _("Cannot be activated yet"), "; ".join(problems)
            )
            if problems
            else ""
        )
        return format_html('<ul class="price-summary">{}</ul>{}', html, warning)

    @admin.display(description=_("billing period"), ordering="billing_period_unit")
    def billing_period_display(self, obj: Plan) -> str:
        return obj.billing_period_name

    @admin.display(description=_("trial"))
    def trial_display(self, obj: Plan) -> str:
        return str(obj.trial_period) if obj.trial_period else "—"

    @admin.action(description=_("Activate the selected plans"))
    def activate(self, request: HttpRequest, queryset):
        today = clock.today()
        self.run_service(
            request,
            queryset,
            lambda plan: services.plan_activate(plan=plan, today=today),
            _("%(count)s plan(s) activated."),
        )

    @admin.action(description=_("Retire the selected plans"))
    def retire(self, request: HttpRequest, queryset):
        self.run_service(
            request,
            queryset,
            lambda plan: services.plan_retire(plan=plan),
            _("%(count)s plan(s) retired."),
        )

    @admin.action(description=_("Reactivate the selected retired plans"))
    def reactivate(self, request: HttpRequest, queryset):
        today = clock.today()
        self.run_service(
            request,
            queryset,
            lambda plan: services.plan_reactivate(plan=plan, today=today),
            _("%(count)s plan(s) reactivated."),
        )


class UpgradeGroupPlanInline(admin.TabularInline):
    model = Plan
    fk_name = "upgrade_group"
    fields = ["code", "name", "upgrade_rank", "status", "currency"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    ordering = ["upgrade_rank"]

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(UpgradeGroup)
class UpgradeGroupAdmin(CadenceAdmin):
    list_display = ["code", "name", "plan_count"]
    search_fields = ["code", "name", "name_fr"]
    inlines = [UpgradeGroupPlanInline]

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).annotate(_plans=Count("plans"))

    @admin.display(description=_("plans"), ordering="_plans")
    def plan_count(self, obj: UpgradeGroup) -> int:
        return obj._plans


# Product contracts ------------------------------------------------------------------------------


@admin.register(ProductContract)
class ProductContractAdmin(CadenceAdmin):
    list_display = ["code", "name", "kind", "product", "summary"]
    list_filter = ["kind", "runtime", "credit_intervals"]
    search_fields = ["code", "name", "name_fr", "product__code"]
    autocomplete_fields = ["product", "price_sheet"]
    list_select_related = ["product"]
    validator = staticmethod(lambda contract: services.product_contract_validate(contract=contract))
    fieldsets = [
        (None, {"fields": ["code", "name", "name_fr", "kind", "product", "price_sheet"]}),
        (
            _("Time-based"),
            {
                "fields": [
                    "runtime",
                    ("runtime_count", "runtime_unit"),
                    ("accounting_period_count", "accounting_period_unit"),
                ],
                "description": _(
                    "Units must be compatible (years with months, weeks with days) and the "
                    "accounting period a whole multiple of the subscription interval."
                ),
            },
        ),
        (
            _("Interval and cancellation (time- and issue-based)"),
            {
                "fields": [
                    ("interval_count", "interval_unit"),
                    ("cancellation_count", "cancellation_unit"),
                ]
            },
        ),
        (
            _("Issue-based"),
            {"fields": ["issues_per_period", "chargeable_issues", "repeat_until_cancelled"]},
        ),
        (_("Credit-based"), {"fields": ["credit_amount", "credit_intervals"]}),
    ]

    @admin.display(description=_("summary"))
    def summary(self, obj: ProductContract) -> str:
        if obj.kind == ProductContract.Kind.TIME:
            return f"{obj.get_runtime_display()}; {obj.accounting_period} / {obj.interval}"
        if obj.kind == ProductContract.Kind.ISSUE:
            return _("%(issues)s issues per %(period)s, %(chargeable)s chargeable") % {
                "issues": obj.issues_per_period,
                "period": obj.interval,
                "chargeable": obj.chargeable_issues,
            }
        if obj.credit_intervals:
            return _("%(credits)s credits per %(period)s") % {
                "credits": number_format(obj.credit_amount),
                "period": obj.accounting_period,
            }
        return _("%(credits)s credits") % {"credits": number_format(obj.credit_amount)}


# Coupons ----------------------------------------------------------------------------------------


@admin.register(CouponCampaign)
class CouponCampaignAdmin(CadenceAdmin):
    list_display = [
        "code",
        "name",
        "kind",
        "code_template",
        "charset",
        "codes_generated",
        "redemption_quantity",
        "valid_from",
        "valid_until",
        "status",
    ]
    list_filter = ["kind", "charset", "status", "valid_until"]
    search_fields = ["code", "name", "name_fr", "code_template"]
    autocomplete_fields = ["bundle", "plans"]
    list_select_related = ["bundle"]
    actions = ["generate_codes"]
    validator = staticmethod(lambda campaign: services.coupon_campaign_validate(campaign=campaign))
    fieldsets = [
        (None, {"fields": ["code", "name", "name_fr", "kind", "bundle", "plans"]}),
        (
            _("Codes"),
            {
                "fields": [
                    "code_template",
                    "charset",
                    "range_start",
                    "quantity",
                    "redemption_quantity",
                ]
            },
        ),
        (_("Validity"), {"fields": [("valid_from", "valid_until"), "status"]}),
    ]
    readonly_fields = ["status"]

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).annotate(_codes=Count("codes"))

    @admin.display(description=_("codes generated"), ordering="_codes")
    def codes_generated(self, obj: CouponCampaign) -> str:
        url = reverse("admin:catalog_couponcode_changelist") + f"?campaign__id__exact={obj.pk}"
        return format_html('<a href="{}">{} / {}</a>', url, obj._codes, obj.quantity)

    def save_model(self, request: HttpRequest, obj: CouponCampaign, form, change: bool) -> None:
        # The codes are generated with the campaign: it never shows "0 / 5 codes".
        try:
            created = services.coupon_campaign_save(campaign=obj)
        except ApplicationError as error:  # a race with another campaign: saved, no codes yet
            obj.save()
            self.message_user(request, f"{obj}: {error.message}", level=messages.ERROR)
            return
        if created:
            self.message_user(
                request,
                ngettext(
                    "%(count)s code generated (%(first)s … %(last)s).",
                    "%(count)s codes generated (%(first)s … %(last)s).",
                    len(created),
                )
                % {"count": len(created), "first": created[0].code, "last": created[-1].code},
                level=messages.SUCCESS,
            )

    @admin.action(description=_("Generate the missing codes"))
    def generate_codes(self, request: HttpRequest, queryset):
        generated, complete = 0, []
        for campaign in queryset:
            try:
                created = services.coupon_codes_generate(campaign=campaign)
            except ApplicationError as error:
                self.message_user(request, f"{campaign}: {error.message}", level=messages.ERROR)
                continue
            if created:
                generated += 1
            else:
                complete.append(campaign.code)
        if generated:
            self.message_user(
                request,
                _("Codes generated for %(count)s campaign(s).") % {"count": generated},
                level=messages.SUCCESS,
            )
        if complete:
            self.message_user(
                request,
                _("%(campaigns)s already had all their codes: nothing new was made.")
                % {"campaigns": ", ".join(complete)},
                level=messages.INFO,
            )


@admin.register(CouponCode)
class CouponCodeAdmin(CadenceAdmin):
    list_display = [
        "code",
        "campaign",
        "status",
        "times_redeemed",
        "max_redemptions",
        "remaining",
        "created_at",
    ]
    list_filter = ["status", "campaign__kind", "campaign"]
    search_fields = ["code", "campaign__code"]
    list_select_related = ["campaign"]
    # Codes change only through their campaign and the actions below.
    readonly_fields = [
        "campaign",
        "code",
        "status",
        "max_redemptions",
        "times_redeemed",
        "created_at",
    ]
    fields = ["code", "campaign", "status", "times_redeemed", "max_redemptions", "created_at"]
    actions = ["disable", "enable"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return (
            False  # codes come from their campaign's template (action "Generate the missing codes")
        )

    @admin.display(description=_("remaining redemptions"))
    def remaining(self, obj: CouponCode) -> int:
        return obj.remaining_redemptions

    @admin.action(description=_("Disable the selected codes"))
    def disable(self, request: HttpRequest, queryset):
        self.run_service(
            request,
            queryset,
            lambda code: services.coupon_code_set_disabled(code=code, disabled=True),
            _("%(count)s code(s) disabled."),
        )

    @admin.action(description=_("Enable the selected codes"))
    def enable(self, request: HttpRequest, queryset):
        self.run_service(
            request,
            queryset,
            lambda code: services.coupon_code_set_disabled(code=code, disabled=False),
            _("%(count)s code(s) enabled."),
        )


# Offers grids (storefront) ----------------------------------------------------------------------


class OffersGridPlanFormSet(ValidatedInlineFormSet):
    """Each row's refusal is shown on its own field (the plan, the yearly plan); the rules
    between rows (one highlight, a plan once) above the rows."""

    def clean(self) -> None:
        if not any(form.errors for form in self.forms):
            kept = {id(entry) for entry in self.kept_instances()}
            for form in self.forms:
                if id(form.instance) not in kept:
                    continue
                try:
                    services.offers_grid_entry_validate(grid=self.instance, entry=form.instance)
                except ApplicationError as error:
                    form.add_error(
                        error.field if error.field in form.fields else None, error.message
                    )
        if any(form.errors for form in self.forms):
            return
        super().clean()

    def validate(self, parent: OffersGrid, rows: list[OffersGridPlan]) -> None:
        services.offers_grid_entries_validate(grid=parent, entries=rows)


class OffersGridPlanInline(CadenceInline):
    model = OffersGridPlan
    formset = OffersGridPlanFormSet
    fields = ["position", "plan", "yearly_plan", "highlighted", "badge", "badge_fr"]
    autocomplete_fields = ["plan", "yearly_plan"]
    extra = 1


class OffersGridForm(ServiceValidatedForm):
    class Meta:
        model = OffersGrid
        fields = "__all__"

    def clean(self):
        """The grid's rules checked here, before the model's: a refusal then sits on its field
        (the campaign, the origins), and the database constraint on the same fields is not
        said a second time without one."""
        cleaned = super().clean()
        draft = OffersGrid(
            segment=cleaned.get("segment") or "",
            campaign=cleaned.get("campaign"),
            frame_ancestors=cleaned.get("frame_ancestors") or "",
        )
        try:
            services.offers_grid_validate(grid=draft)
        except ApplicationError as error:
            self.add_error(error.field if error.field in self.fields else None, error.message)
        return cleaned


@admin.register(OffersGrid)
class OffersGridAdmin(CadenceAdmin):
    form = OffersGridForm
    list_display = ["code", "name", "segment", "campaign", "currency", "plans_count", "is_active"]
    list_filter = ["segment", "is_active", "currency"]
    search_fields = ["code", "name", "name_fr"]
    autocomplete_fields = ["campaign"]
    list_select_related = ["campaign"]
    inlines = [OffersGridPlanInline]
    validator = staticmethod(lambda grid: services.offers_grid_validate(grid=grid))
    fieldsets = [
        (None, {"fields": ["code", "is_active", "segment", "campaign", "currency"]}),
        (_("Page texts"), {"fields": ["name", "name_fr", "intro", "intro_fr"]}),
        (_("Embedding"), {"fields": ["frame_ancestors"]}),
    ]

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).annotate(_plans=Count("entries"))

    @admin.display(description=_("plans"), ordering="_plans")
    def plans_count(self, obj: OffersGrid) -> int:
        return obj._plans

    def view_on_site(self, obj: OffersGrid) -> str:
        return reverse("storefront:grid", args=[obj.code])
