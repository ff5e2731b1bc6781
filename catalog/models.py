"""What can be sold: products, features, price sheets, discounts, bundles, terms, plans, tax rates,
product contracts and coupon campaigns.

Models hold data and the invariants that need no other row, as database constraints with a
message a person can act on (Django validates them in model forms, so the admin shows them as
form errors). Rules that read other rows are in catalog/services.py. Every model keeps an
append-only audit history (django-simple-history): who, when, old and new values.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import translation
from django.utils.formats import number_format
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from djmoney.models.fields import CurrencyField, MoneyField
from simple_history.models import HistoricalRecords

from core.identifiers import InvalidIdentifier, siren_clean, siret_clean, vat_number_clean
from core.periods import NAMED_PERIODS, Period, Unit, period_of
from core.pricing import PricingModel as CorePricingModel
from core.pricing import Tier

CURRENCY_CHOICES = [(code, code) for code in settings.CURRENCIES]


def default_currency() -> str:
    # A callable, so that the DEFAULT_CURRENCY environment variable never reaches a migration.
    return settings.DEFAULT_CURRENCY


def money_field(verbose_name, **kwargs) -> MoneyField:
    """An amount whose currency is the row's one `currency` column (declare it first)."""
    return MoneyField(
        verbose_name,
        max_digits=settings.MONEY_MAX_DIGITS,
        decimal_places=settings.MONEY_DECIMAL_PLACES,
        default_currency=None,
        currency_choices=CURRENCY_CHOICES,
        currency_field_name="currency",
        **kwargs,
    )


def currency_field(verbose_name=None) -> CurrencyField:
    # By keyword: djmoney's CurrencyField takes `price_field` first, and a name passed there
    # left the column titled "Currency" in every language.
    return CurrencyField(
        verbose_name=verbose_name or _("currency"),
        default=default_currency,
        choices=CURRENCY_CHOICES,
    )


# How the named billing periods read in the admin (the keys are identifiers, never shown).
PERIOD_NAMES = {
    "monthly": pgettext_lazy("billing period", "monthly"),
    "quarterly": pgettext_lazy("billing period", "quarterly"),
    "semi-annual": pgettext_lazy("billing period", "semi-annual"),
    "yearly": pgettext_lazy("billing period", "yearly"),
}


class TimeUnit(models.TextChoices):
    DAY = Unit.DAY.value, _("day(s)")
    WEEK = Unit.WEEK.value, _("week(s)")
    MONTH = Unit.MONTH.value, _("month(s)")
    YEAR = Unit.YEAR.value, _("year(s)")


class Localized(models.Model):
    """Offer texts in several languages: `name` is English (the fallback), `name_fr` French.

    Explicit columns rather than a translation library so that the audit history records every
    language's text, and a page needs no extra query to show it. Another language is a migration
    adding `name_<code>` (and `description_<code>` where there is a description).
    """

    name = models.CharField(_("name (English)"), max_length=200)
    name_fr = models.CharField(_("name (French)"), max_length=200, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        code = getattr(self, "code", "")
        return f"{code} — {self.display_name}" if code else self.display_name

    def localized(self, field: str, language: str | None = None) -> str:
        language = (language or translation.get_language() or settings.LANGUAGE_CODE)[:2]
        value = getattr(self, f"{field}_{language}", "") if language != "en" else ""
        return value or getattr(self, field)

    @property
    def display_name(self) -> str:
        return self.localized("name")


class LocalizedDescription(Localized):
    description = models.TextField(_("description (English)"), blank=True)
    description_fr = models.TextField(_("description (French)"), blank=True)

    class Meta:
        abstract = True

    @property
    def display_description(self) -> str:
        return self.localized("description")


def code_field() -> models.CharField:
    return models.CharField(
        _("code"),
        max_length=60,
        unique=True,
        help_text=_("A short stable identifier, used in the API and on invoices."),
    )


class TaxCategory(models.TextChoices):
    """EN 16931 VAT category codes (UNTDID 5305, BT-118/BT-151) Cadence determines."""

    STANDARD = "S", _("S — standard rate")
    ZERO = "Z", _("Z — zero rated")
    EXEMPT = "E", _("E — exempt from VAT")
    REVERSE_CHARGE = "AE", _("AE — reverse charge")
    INTRA_EU = "K", _("K — intra-community supply of goods")
    EXPORT = "G", _("G — export outside the EU")
    OUTSIDE_SCOPE = "O", _("O — not subject to VAT")


class TaxRate(models.Model):
    """A rate a product (or a term's penalty) is taxed at at home, or a country's standard rate
    for consumers of other member states (One-Stop Shop). An exempt or zero rate names its
    category and the reason printed on the invoice (EN 16931 BT-120/BT-121)."""

    code = code_field()
    name = models.CharField(_("name"), max_length=120)
    rate = models.DecimalField(
        _("rate (%)"), max_digits=5, decimal_places=2, help_text=_("Percent, e.g. 20.00")
    )
    country = models.CharField(
        _("country"),
        max_length=2,
        blank=True,
        help_text=_(
            "ISO code of the country whose rate it is. Empty: the seller's country. A country's "
            "standard rate taxes its consumers of electronic services (One-Stop Shop)."
        ),
    )
    is_standard = models.BooleanField(
        _("standard rate of its country"),
        default=False,
        help_text=_("Used for consumers in that country when no product rate applies."),
    )
    category = models.CharField(
        _("VAT category"), max_length=2, choices=TaxCategory.choices, default=TaxCategory.STANDARD
    )
    exemption_code = models.CharField(
        _("exemption reason code"),
        max_length=30,
        blank=True,
        help_text=_("VATEX code for exempt or zero-rated sales, e.g. VATEX-EU-132-1I."),
    )
    exemption_reason = models.CharField(
        _("exemption reason"),
        max_length=200,
        blank=True,
        help_text=_("Printed on the invoice, e.g. the article of law that exempts the sale."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("tax rate")
        verbose_name_plural = _("tax rates")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(rate__gte=0) & Q(rate__lte=100),
                name="taxrate_rate_0_100",
                violation_error_message=_("A tax rate lies between 0 and 100 (percent)."),
            ),
            models.CheckConstraint(
                condition=Q(category="S", rate__gt=0) | (~Q(category="S") & Q(rate=0)),
                name="taxrate_category_matches_rate",
                violation_error_message=_(
                    "A standard-rated (S) tax rate is above 0 %; any other category is 0 %."
                ),
            ),
            models.UniqueConstraint(
                fields=["country"],
                condition=Q(is_standard=True, is_active=True),
                name="taxrate_one_standard_per_country",
                violation_error_message=_("This country already has an active standard rate."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({number_format(self.rate)} %)"


class TaxRule(models.Model):
    """How a sale is taxed, by the seller's country, the customer's country (or zone) and kind
    (billing-rules §10). The most specific rule wins; without one, Cadence's built-in EU rules
    apply (catalog/tax.py, DEFAULT_RULES), which the data migration also writes here so that an
    operator sees and can change them."""

    class Zone(models.TextChoices):
        DOMESTIC = "domestic", _("the seller's country")
        EU = "eu", _("another EU member state")
        NON_EU = "non_eu", _("outside the EU")

    class CustomerKind(models.TextChoices):
        ANY = "any", _("any customer")
        BUSINESS = "business", _("business with a VAT number")
        CONSUMER = "consumer", _("consumer or business without a VAT number")

    class RateSource(models.TextChoices):
        PRODUCT = "product", _("the product's rate (else its plan's term's)")
        CUSTOMER_COUNTRY = "customer_country", _("the standard rate of the customer's country")
        NONE = "none", _("no VAT (0 %)")

    seller_country = models.CharField(_("seller country"), max_length=2)
    customer_zone = models.CharField(_("customer zone"), max_length=8, choices=Zone.choices)
    customer_country = models.CharField(
        _("customer country"),
        max_length=2,
        blank=True,
        help_text=_("Only this country of the zone (ISO code). Empty: every country of the zone."),
    )
    customer_kind = models.CharField(
        _("customer kind"), max_length=8, choices=CustomerKind.choices, default=CustomerKind.ANY
    )
    category = models.CharField(_("VAT category"), max_length=2, choices=TaxCategory.choices)
    rate_source = models.CharField(_("rate"), max_length=16, choices=RateSource.choices)
    exemption_code = models.CharField(
        _("exemption reason code"), max_length=30, blank=True, help_text=_("e.g. VATEX-EU-AE")
    )
    mention_en = models.CharField(_("mention on the invoice (English)"), max_length=200, blank=True)
    mention_fr = models.CharField(_("mention on the invoice (French)"), max_length=200, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("tax rule")
        verbose_name_plural = _("tax rules")
        ordering = ["seller_country", "customer_zone", "customer_country", "customer_kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["seller_country", "customer_zone", "customer_country", "customer_kind"],
                name="taxrule_unique_case",
                violation_error_message=_("A rule for this case exists already."),
            ),
            models.CheckConstraint(
                condition=(Q(category="S") & ~Q(rate_source="none"))
                | (~Q(category="S") & Q(rate_source="none")),
                name="taxrule_rate_matches_category",
                violation_error_message=_(
                    "A standard-rated (S) rule takes a rate; any other category has none."
                ),
            ),
        ]

    def __str__(self) -> str:
        where = self.customer_country or self.get_customer_zone_display()
        return (
            f"{self.seller_country} → {where}, {self.get_customer_kind_display()}: {self.category}"
        )


class SellerProfile(models.Model):
    """Who sells: the legal identity printed on every invoice and written into its e-invoice
    (EN 16931 BG-4), edited by the operator in the admin. One row; until it exists the
    environment's SELLER_* settings stand in (`SellerProfile.current`). Each invoice keeps a
    copy of it as it was at issue."""

    class AddressScheme(models.TextChoices):
        SIREN = "0225", _("SIREN (0225)")
        SIRET = "0009", _("SIRET (0009)")
        EMAIL = "EM", _("email address (EM)")
        GLN = "0088", _("GLN (0088)")

    legal_name = models.CharField(_("legal name"), max_length=200)
    trade_name = models.CharField(_("trade name"), max_length=200, blank=True)
    legal_form = models.CharField(
        _("legal form and share capital"),
        max_length=200,
        blank=True,
        help_text=_("e.g. SAS au capital de 10 000 €"),
    )
    registration_office = models.CharField(
        _("registry"), max_length=100, blank=True, help_text=_("e.g. RCS Paris")
    )
    siren = models.CharField(_("SIREN"), max_length=9, blank=True)
    siret = models.CharField(_("SIRET"), max_length=14, blank=True)
    vat_number = models.CharField(_("VAT number"), max_length=20, blank=True)
    address_line1 = models.CharField(_("address"), max_length=200)
    address_line2 = models.CharField(_("address (continued)"), max_length=200, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20)
    city = models.CharField(_("city"), max_length=100)
    country = models.CharField(_("country"), max_length=2, help_text=_("ISO 3166 code, e.g. FR"))
    email = models.EmailField(_("billing email"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    electronic_address = models.CharField(
        _("electronic address"),
        max_length=100,
        blank=True,
        help_text=_(
            "Where e-invoices reach you (EN 16931 BT-34): in France your SIREN at your approved "
            "platform. Empty: your SIREN, else your billing email."
        ),
    )
    electronic_address_scheme = models.CharField(
        _("electronic address scheme"),
        max_length=4,
        choices=AddressScheme.choices,
        blank=True,
    )
    iban = models.CharField(_("IBAN for transfers"), max_length=34, blank=True)
    bic = models.CharField(_("BIC"), max_length=11, blank=True)
    invoicing_framework = models.CharField(
        _("invoicing framework (BT-23)"),
        max_length=6,
        default="S1",
        help_text=_(
            "The French framework code: S1 services, B1 goods, M1 both; the second digit 2 when "
            "invoices are already paid."
        ),
    )
    late_payment_penalty = models.CharField(
        _("late-payment penalties"),
        max_length=300,
        default="",
        blank=True,
        help_text=_("Empty: three times the French legal interest rate (the legal minimum)."),
    )
    footer_en = models.TextField(
        _("invoice footer (English)"),
        blank=True,
        help_text=_("Printed at the bottom of every invoice, below the legal notes."),
    )
    footer_fr = models.TextField(_("invoice footer (French)"), blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("seller profile")
        verbose_name_plural = _("seller profile")
        constraints = [
            models.CheckConstraint(
                condition=Q(country__regex=r"^[A-Z]{2}$"),
                name="sellerprofile_country_iso",
                violation_error_message=_(
                    "The country is a two-letter ISO code in capitals, e.g. FR."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.legal_name

    def clean(self) -> None:
        errors = {}
        self.country = (self.country or "").strip().upper()
        for name, check in (
            ("siren", siren_clean),
            ("siret", siret_clean),
            ("vat_number", lambda v: vat_number_clean(v, self.country)),
        ):
            try:
                setattr(self, name, check(getattr(self, name)))
            except InvalidIdentifier as error:
                errors[name] = str(error)
        if self.siren and self.siret and not self.siret.startswith(self.siren):
            errors["siret"] = _("A SIRET starts with its company's SIREN.")
        if errors:
            raise ValidationError(errors)

    @classmethod
    def current(cls) -> SellerProfile:
        """The profile, or (unsaved) the environment's SELLER_* settings until one is saved."""
        profile = cls.objects.order_by("pk").first()
        if profile is not None:
            return profile
        lines = [line.strip() for line in settings.SELLER_ADDRESS.splitlines() if line.strip()]
        postal, _sep, city = (lines[1] if len(lines) > 1 else "").partition(" ")
        return cls(
            legal_name=settings.SELLER_NAME,
            address_line1=lines[0] if lines else "",
            postal_code=postal,
            city=city,
            country=settings.SELLER_COUNTRY,
            vat_number=settings.SELLER_VAT_NUMBER,
            siren=settings.SELLER_SIREN,
            email=settings.SELLER_EMAIL,
            iban=settings.SEPA_CREDITOR_IBAN,
            bic=settings.SEPA_CREDITOR_BIC,
        )


class SeatType(Localized):
    """A kind of device or user sold per seat (a customer deploys devices of each type)."""

    code = code_field()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("seat type")
        verbose_name_plural = _("seat types")
        ordering = ["code"]


class Product(LocalizedDescription):
    code = code_field()
    seat_type = models.ForeignKey(
        SeatType,
        verbose_name=_("seat type"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="products",
        help_text=_("Set when the product is sold per seat of this type."),
    )
    tax_rate = models.ForeignKey(
        TaxRate,
        verbose_name=_("tax rate"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        help_text=_("Overrides the term's tax rate on this product's invoice lines."),
    )
    ledger_account = models.CharField(_("ledger account"), max_length=40, blank=True)
    invoice_item_type = models.CharField(_("invoice item type"), max_length=40, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["code"]


class BillableMetric(Localized):
    """What usage events count (billing-rules §12): the events of one code, aggregated over a
    billing period — counted, counted once per distinct value of a property, or a property's
    sum, maximum or latest value — optionally only those whose properties match `filters`."""

    class Aggregation(models.TextChoices):
        COUNT = "count", _("count")
        COUNT_UNIQUE = "count_unique", _("count unique")
        SUM = "sum", _("sum")
        MAX = "max", _("maximum")
        LATEST = "latest", _("latest value")

    code = code_field()
    event_code = models.CharField(
        _("event code"),
        max_length=100,
        help_text=_("The `code` of the usage events this metric counts (api_call, storage_gb)."),
    )
    aggregation = models.CharField(
        _("aggregation"), max_length=12, choices=Aggregation.choices, default=Aggregation.COUNT
    )
    field = models.CharField(
        _("property"),
        max_length=100,
        blank=True,
        help_text=_(
            "The event property aggregated (count unique, sum, maximum, latest); empty for count."
        ),
    )
    filters = models.JSONField(
        _("filters"),
        default=dict,
        blank=True,
        help_text=_(
            'Only events whose properties have one of these values: {"region": ["eu", "us"]}.'
        ),
    )
    unit = models.CharField(_("unit"), max_length=30, blank=True, help_text=_("calls, GB…"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("billable metric")
        verbose_name_plural = _("billable metrics")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(aggregation="count", field="")
                | (~Q(aggregation="count") & ~Q(field="")),
                name="metric_field_matches_aggregation",
                violation_error_message=_(
                    "Count needs no property; count unique, sum, maximum and latest value "
                    "aggregate the property named."
                ),
            )
        ]

    def clean(self) -> None:
        super().clean()
        # Named on the field to change (the check constraint's message has no field); the
        # form then skips the constraint on that field, so the message is not said twice.
        errors = dict(p for p in (self.aggregation_problem(), self.filters_problem()) if p)
        if errors:
            raise ValidationError(errors)

    def aggregation_problem(self) -> tuple[str, str] | None:
        """(field, why) when the property does not match the aggregation."""
        if self.aggregation == self.Aggregation.COUNT and self.field:
            return "field", str(
                _("Count counts the events: it aggregates no property, clear the property.")
            )
        if self.aggregation != self.Aggregation.COUNT and not self.field:
            return "field", str(
                _("%(aggregation)s aggregates a property of the events: name the property.")
                % {"aggregation": capfirst(self.get_aggregation_display())}
            )
        return None

    def filters_problem(self) -> tuple[str, str] | None:
        problem = _filters_problem(self.filters)
        return ("filters", problem) if problem else None


def _filters_problem(filters: object) -> str:
    """Why a metric's filters are not {property: [values]} (empty: they are)."""
    if not isinstance(filters, dict):
        return str(_('Filters are an object: {"property": ["value", …]}.'))
    for key, values in filters.items():
        if not isinstance(values, list) or not values:
            return str(
                _('The filter on "%(property)s" needs a list of at least one value.')
                % {"property": key}
            )
        if any(not isinstance(v, str | int | bool) for v in values):
            return str(
                _('The values of the filter on "%(property)s" are texts or numbers.')
                % {"property": key}
            )
    return ""


class Feature(Localized):
    class Kind(models.TextChoices):
        ON_OFF = "on_off", _("on/off")
        LIMIT = "limit", _("limit")

    class Enforcement(models.TextChoices):
        NONE = "none", pgettext_lazy("limit enforcement", "none")
        SOFT = "soft", pgettext_lazy("limit enforcement", "soft (webhook)")
        HARD = "hard", pgettext_lazy("limit enforcement", "hard (refused)")

    code = code_field()
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.ON_OFF)
    unit = models.CharField(
        _("unit (English)"),
        max_length=30,
        blank=True,
        help_text=_("For limits: GB, users, requests…"),
    )
    unit_fr = models.CharField(
        _("unit (French)"),
        max_length=30,
        blank=True,
        help_text=_("Empty: the English unit (GB reads the same)."),
    )
    # A limit counted against usage (docs/billing-rules.md, "Entitlements"): the metric
    # measures what is used of it over the billing period; without one, the limit is a value
    # the application reads.
    metric = models.ForeignKey(
        "BillableMetric",
        verbose_name=_("usage metric"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="features",
        help_text=_("For limits: the usage counted against the limit over the billing period."),
    )
    enforcement = models.CharField(
        _("enforcement"),
        max_length=4,
        choices=Enforcement.choices,
        default=Enforcement.NONE,
        help_text=_(
            "Hard: usage events beyond the limit are refused. Soft: they are accepted and a "
            "webhook tells you the limit was passed."
        ),
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("feature")
        verbose_name_plural = _("features")
        ordering = ["code"]

    @property
    def display_unit(self) -> str:
        return self.localized("unit")


class PricingModel(models.TextChoices):
    FLAT = CorePricingModel.FLAT.value, _("flat per period")
    PER_UNIT = CorePricingModel.PER_UNIT.value, _("per unit")
    GRADUATED = CorePricingModel.GRADUATED.value, _("graduated tiers")
    VOLUME = CorePricingModel.VOLUME.value, _("volume tiers")
    PACKAGE = CorePricingModel.PACKAGE.value, _("package of N units")


class PriceSheet(Localized):
    """The price of one product for one period of its own (billing-rules §2): 60.00 EUR per seat per
    year."""

    code = code_field()
    product = models.ForeignKey(
        Product, verbose_name=_("product"), on_delete=models.PROTECT, related_name="price_sheets"
    )
    currency = currency_field()
    period_count = models.PositiveSmallIntegerField(_("period count"), default=1)
    period_unit = models.CharField(
        _("period unit"), max_length=5, choices=TimeUnit.choices, default=TimeUnit.MONTH
    )
    pricing_model = models.CharField(
        _("pricing model"), max_length=10, choices=PricingModel.choices, default=PricingModel.FLAT
    )
    amount = money_field(
        _("amount"),
        null=True,
        blank=True,
        help_text=_(
            "The flat price per period, the price of one unit, or of one package. Empty for tiers."
        ),
    )
    package_size = models.PositiveIntegerField(
        _("units per package"),
        null=True,
        blank=True,
        help_text=_("For package prices: each started package of this many units is charged."),
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("price sheet")
        verbose_name_plural = _("price sheets")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(period_count__gte=1),
                name="pricesheet_period_count_positive",
                violation_error_message=_("The price period needs a count of at least 1."),
            ),
            models.CheckConstraint(
                condition=Q(pricing_model__in=["graduated", "volume"], amount__isnull=True)
                | Q(pricing_model__in=["flat", "per_unit", "package"], amount__isnull=False),
                name="pricesheet_amount_matches_model",
                violation_error_message=_(
                    "Flat, per-unit and package prices need an amount; tiered prices take their "
                    "amounts from the tiers and leave it empty."
                ),
            ),
            models.CheckConstraint(
                # NULL passes a CHECK: the size is said to be there, then to be at least 1.
                condition=(
                    Q(pricing_model="package", package_size__isnull=False, package_size__gte=1)
                )
                | (~Q(pricing_model="package") & Q(package_size__isnull=True)),
                name="pricesheet_package_size",
                violation_error_message=_(
                    "A package price needs its number of units per package (and only a package "
                    "price has one)."
                ),
            ),
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | Q(amount__gte=0),
                name="pricesheet_amount_not_negative",
                violation_error_message=_("A price cannot be negative."),
            ),
        ]

    @property
    def period(self) -> Period:
        return period_of(self.period_count, self.period_unit)

    @property
    def is_tiered(self) -> bool:
        return self.pricing_model in (PricingModel.GRADUATED, PricingModel.VOLUME)

    def core_tiers(self) -> list[Tier]:
        """Tiers as values of the pure core (uses the prefetch cache when there is one)."""
        return [
            Tier(
                t.first_unit,
                t.last_unit,
                t.unit_price.amount,
                t.flat_amount.amount if t.flat_amount is not None else Decimal("0"),
            )
            for t in sorted(self.tiers.all(), key=lambda t: t.first_unit)
        ]


class PriceTier(models.Model):
    price_sheet = models.ForeignKey(
        PriceSheet, verbose_name=_("price sheet"), on_delete=models.CASCADE, related_name="tiers"
    )
    first_unit = models.PositiveIntegerField(_("first unit"))
    last_unit = models.PositiveIntegerField(
        _("last unit"), null=True, blank=True, help_text=_("Empty for the open-ended last tier.")
    )
    # Always the price sheet's currency (set from it when the tiers are saved).
    currency = currency_field()
    unit_price = money_field(_("unit price"))
    flat_amount = money_field(
        _("flat fee"), null=True, blank=True, help_text=_("Charged once when the tier is reached.")
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("price tier")
        verbose_name_plural = _("price tiers")
        ordering = ["price_sheet", "first_unit"]
        constraints = [
            models.UniqueConstraint(
                fields=["price_sheet", "first_unit"],
                name="pricetier_unique_first_unit",
                violation_error_message=_(
                    "Two tiers of a price sheet cannot start at the same unit."
                ),
            ),
            models.CheckConstraint(
                condition=Q(first_unit__gte=1),
                name="pricetier_first_unit_positive",
                violation_error_message=_("Tiers count units from 1."),
            ),
            models.CheckConstraint(
                condition=Q(last_unit__isnull=True) | Q(last_unit__gte=models.F("first_unit")),
                name="pricetier_last_after_first",
                violation_error_message=_("A tier cannot end before it starts."),
            ),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0)
                & (Q(flat_amount__isnull=True) | Q(flat_amount__gte=0)),
                name="pricetier_amounts_not_negative",
                violation_error_message=_("Tier prices cannot be negative."),
            ),
        ]

    def __str__(self) -> str:
        last = self.last_unit if self.last_unit is not None else "∞"
        return f"{self.first_unit}–{last}: {self.unit_price}"


class Discount(Localized):
    class Kind(models.TextChoices):
        PERCENTAGE = "percentage", _("percentage")
        AMOUNT = "amount", _("fixed amount")

    class Target(models.TextChoices):
        PRODUCT = "product", _("a product")
        BUNDLE = "bundle", _("a bundle")
        SUBSCRIPTION = "subscription", _("the whole subscription")

    class Duration(models.TextChoices):
        ONCE = "once", _("once")
        PERIODS = "periods", _("N periods")
        FOREVER = "forever", _("forever")

    code = code_field()
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    percentage = models.DecimalField(
        _("percentage"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    currency = currency_field()
    amount = money_field(_("amount"), null=True, blank=True)
    target = models.CharField(
        _("target"), max_length=12, choices=Target.choices, default=Target.SUBSCRIPTION
    )
    target_product = models.ForeignKey(
        Product,
        verbose_name=_("target product"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="discounts",
    )
    target_bundle = models.ForeignKey(
        "Bundle",
        verbose_name=_("target bundle"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="targeting_discounts",
    )
    duration = models.CharField(
        _("duration"), max_length=8, choices=Duration.choices, default=Duration.FOREVER
    )
    duration_periods = models.PositiveSmallIntegerField(
        _("number of periods"), null=True, blank=True
    )
    sequence = models.PositiveSmallIntegerField(
        _("order of application"),
        default=100,
        help_text=_("Lower numbers apply first, each on the amount left by the previous ones."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("discount")
        verbose_name_plural = _("discounts")
        ordering = ["sequence", "code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="percentage", percentage__isnull=False, amount__isnull=True)
                | Q(kind="amount", percentage__isnull=True, amount__isnull=False),
                name="discount_value_matches_kind",
                violation_error_message=_(
                    "A percentage discount needs a percentage and no amount; a fixed discount "
                    "needs an amount and no percentage."
                ),
            ),
            models.CheckConstraint(
                condition=Q(percentage__isnull=True)
                | (Q(percentage__gt=0) & Q(percentage__lte=100)),
                name="discount_percentage_range",
                violation_error_message=_("A discount percentage lies above 0 and up to 100."),
            ),
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | Q(amount__gt=0),
                name="discount_amount_positive",
                violation_error_message=_("A discount amount must be above zero."),
            ),
            models.CheckConstraint(
                condition=Q(
                    target="product", target_product__isnull=False, target_bundle__isnull=True
                )
                | Q(target="bundle", target_product__isnull=True, target_bundle__isnull=False)
                | Q(target="subscription", target_product__isnull=True, target_bundle__isnull=True),
                name="discount_target_matches",
                violation_error_message=_(
                    "Choose the target product for a product discount, the target bundle for a "
                    "bundle discount, and neither for a whole-subscription discount."
                ),
            ),
            models.CheckConstraint(
                condition=Q(duration="periods", duration_periods__gte=1)
                | (~Q(duration="periods") & Q(duration_periods__isnull=True)),
                name="discount_duration_periods",
                violation_error_message=_(
                    "A discount lasting N periods needs N (at least 1); other durations leave it "
                    "empty."
                ),
            ),
        ]

    def describe_value(self) -> str:
        if self.kind == self.Kind.PERCENTAGE:
            return f"{self.percentage.normalize():f} %"
        return str(self.amount)


class Term(LocalizedDescription):
    """Commitment, early termination, renewal, notice and seat-freeze rules (billing-rules §4–5).

    The description is the text of the terms that a buyer accepts.
    """

    class CommitmentBasis(models.TextChoices):
        BILLING_CYCLES = "billing_cycles", _("billing cycles")
        CALENDAR = "calendar", _("calendar")

    class EarlyTermination(models.TextChoices):
        ALLOWED = "allowed", _("allowed (at the end of the current period, no fee)")
        PENALTY = "penalty", _("allowed with a penalty")
        FORBIDDEN = "forbidden", _("forbidden (effective at the commitment end)")

    code = code_field()
    commitment_basis = models.CharField(
        _("commitment basis"),
        max_length=14,
        choices=CommitmentBasis.choices,
        default=CommitmentBasis.CALENDAR,
    )
    commitment_count = models.PositiveSmallIntegerField(
        _("commitment"),
        default=0,
        help_text=_("Billing cycles, or calendar units. 0 for no commitment."),
    )
    commitment_unit = models.CharField(
        _("commitment unit"),
        max_length=5,
        choices=TimeUnit.choices,
        blank=True,
        help_text=_("For a calendar commitment only."),
    )
    early_termination = models.CharField(
        _("early termination"),
        max_length=9,
        choices=EarlyTermination.choices,
        default=EarlyTermination.ALLOWED,
    )
    grace_count = models.PositiveSmallIntegerField(_("grace period"), default=0)
    grace_unit = models.CharField(
        _("grace period unit"), max_length=5, choices=TimeUnit.choices, default=TimeUnit.DAY
    )
    currency = currency_field()
    penalty_cap = money_field(_("penalty fee cap"), null=True, blank=True)
    penalty_prorated = models.BooleanField(
        _("prorated penalty"),
        default=False,
        help_text=_(
            "Charge the cap × days from the effective date to the commitment end ÷ days of the "
            "whole commitment."
        ),
    )
    ledger_account = models.CharField(_("ledger account"), max_length=40, blank=True)
    invoice_item_type = models.CharField(_("invoice item type"), max_length=40, blank=True)
    tax_rate = models.ForeignKey(
        TaxRate, verbose_name=_("tax rate"), on_delete=models.PROTECT, null=True, blank=True
    )
    renewal_term = models.ForeignKey(
        "self",
        verbose_name=_("renewal term"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="renewed_from",
        help_text=_("The term a subscription renews into at the commitment end; empty: the same."),
    )
    auto_renew = models.BooleanField(_("auto-renew"), default=True)
    notice_count = models.PositiveSmallIntegerField(_("notice period"), default=0)
    notice_unit = models.CharField(
        _("notice period unit"), max_length=5, choices=TimeUnit.choices, default=TimeUnit.DAY
    )
    freeze_count = models.PositiveSmallIntegerField(
        _("seat-reduction freeze"),
        default=0,
        help_text=_("Seats cannot be reduced within this time before the renewal date."),
    )
    freeze_unit = models.CharField(
        _("seat-reduction freeze unit"),
        max_length=5,
        choices=TimeUnit.choices,
        default=TimeUnit.MONTH,
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("term")
        verbose_name_plural = _("terms")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(early_termination="penalty") | Q(penalty_cap__isnull=False),
                name="term_penalty_needs_cap",
                violation_error_message=_("A penalty policy needs a penalty fee cap."),
            ),
            models.CheckConstraint(
                condition=Q(penalty_cap__isnull=True) | Q(penalty_cap__gte=0),
                name="term_penalty_cap_not_negative",
                violation_error_message=_("The penalty fee cap cannot be negative."),
            ),
            models.CheckConstraint(
                condition=Q(commitment_basis="billing_cycles", commitment_unit="")
                | Q(commitment_basis="calendar", commitment_count=0, commitment_unit="")
                | (Q(commitment_basis="calendar", commitment_count__gt=0) & ~Q(commitment_unit="")),
                name="term_commitment_unit_matches_basis",
                violation_error_message=_(
                    "A calendar commitment needs its unit (days, weeks, months or years); a "
                    "commitment in billing cycles has none."
                ),
            ),
        ]

    @property
    def commitment_period(self) -> Period | None:
        if self.commitment_count == 0 or self.commitment_basis != self.CommitmentBasis.CALENDAR:
            return None
        return Period(self.commitment_count, Unit(self.commitment_unit))


class Bundle(LocalizedDescription):
    """A set of products and discounts, each required or optional, sold together."""

    code = code_field()
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(
        _("valid until"), null=True, blank=True, help_text=_("Last day it can be sold.")
    )
    term = models.ForeignKey(
        Term, verbose_name=_("term"), on_delete=models.PROTECT, null=True, blank=True
    )
    # billing-rules §8: "product contracts are then added in the offer creation" — selling the
    # bundle (as a plan's or an add-on) gives the subscription this contract.
    contract = models.ForeignKey(
        "ProductContract",
        verbose_name=_("product contract"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="bundles",
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("bundle")
        verbose_name_plural = _("bundles")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True)
                | Q(valid_until__isnull=True)
                | Q(valid_until__gte=models.F("valid_from")),
                name="bundle_validity_order",
                violation_error_message=_(
                    "A bundle cannot be valid until a date before its start."
                ),
            )
        ]

    def is_valid_on(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_until is None or day <= self.valid_until
        )


class BundleItem(models.Model):
    class Kind(models.TextChoices):
        PRODUCT = "product", _("product")
        DISCOUNT = "discount", _("discount")

    bundle = models.ForeignKey(
        Bundle, verbose_name=_("bundle"), on_delete=models.CASCADE, related_name="items"
    )
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.PRODUCT)
    product = models.ForeignKey(
        Product, verbose_name=_("product"), on_delete=models.PROTECT, null=True, blank=True
    )
    price_sheet = models.ForeignKey(
        PriceSheet,
        verbose_name=_("price sheet"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        help_text=_("How the product is charged in this bundle; empty: included at no charge."),
    )
    discount = models.ForeignKey(
        Discount, verbose_name=_("discount"), on_delete=models.PROTECT, null=True, blank=True
    )
    required = models.BooleanField(
        _("required"), default=True, help_text=_("Optional items are chosen by the buyer.")
    )
    quantity = models.PositiveIntegerField(
        _("quantity"),
        default=1,
        help_text=_("Units included; for a product sold per seat, the seats are chosen instead."),
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("bundle item")
        verbose_name_plural = _("bundle items")
        ordering = ["bundle", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="product", product__isnull=False, discount__isnull=True)
                | Q(
                    kind="discount",
                    product__isnull=True,
                    discount__isnull=False,
                    price_sheet__isnull=True,
                ),
                name="bundleitem_product_xor_discount",
                violation_error_message=_(
                    "A product item names a product (and optionally its price sheet); a discount "
                    "item names a discount and nothing else."
                ),
            ),
            models.CheckConstraint(
                condition=Q(quantity__gte=1),
                name="bundleitem_quantity_positive",
                violation_error_message=_("An item's quantity is at least 1."),
            ),
        ]

    def __str__(self) -> str:
        what = self.product if self.kind == self.Kind.PRODUCT else self.discount
        return f"{self.bundle.code}: {what}"


class UpgradeGroup(Localized):
    """Plans a subscription can move between; the rank orders them (higher is an upgrade)."""

    code = code_field()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("upgrade group")
        verbose_name_plural = _("upgrade groups")
        ordering = ["code"]


class PaymentType(models.TextChoices):
    BANK_TRANSFER = "bank_transfer", _("bank transfer")
    CARD = "card", _("card")
    SEPA_DEBIT = "sepa_debit", _("SEPA direct debit")


class Plan(LocalizedDescription):
    """An offer: what a subscription is to, its billing period, commitment and terms."""

    class Status(models.TextChoices):
        DRAFT = "draft", pgettext_lazy("plan status", "draft")
        ACTIVE = "active", pgettext_lazy("plan status", "active")
        RETIRED = "retired", pgettext_lazy("plan status", "retired")

    code = code_field()
    currency = currency_field()
    billing_period_count = models.PositiveSmallIntegerField(_("billing period count"), default=1)
    billing_period_unit = models.CharField(
        _("billing period unit"), max_length=5, choices=TimeUnit.choices, default=TimeUnit.MONTH
    )
    trial_count = models.PositiveSmallIntegerField(_("trial"), default=0)
    trial_unit = models.CharField(
        _("trial unit"), max_length=5, choices=TimeUnit.choices, default=TimeUnit.DAY
    )
    minimum_commitment_occurrences = models.PositiveSmallIntegerField(
        _("minimum commitment (billing periods)"),
        default=0,
        help_text=_("12 monthly periods, 4 quarters and 2 half-years are all 12 months."),
    )
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(
        _("valid until"), null=True, blank=True, help_text=_("Last day it can be sold.")
    )
    bundles = models.ManyToManyField(
        Bundle, verbose_name=_("bundles"), related_name="plans", blank=True
    )
    addon_bundles = models.ManyToManyField(
        Bundle,
        verbose_name=_("compatible add-on bundles"),
        related_name="addon_for_plans",
        blank=True,
    )
    compatible_addons_only = models.BooleanField(
        _("compatible add-ons only"),
        default=True,
        help_text=_("Only the add-on bundles listed here can be added to its subscriptions."),
    )
    payment_types = models.JSONField(_("supported payment types"), default=list, blank=True)
    term = models.ForeignKey(
        Term,
        verbose_name=_("term"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="plans",
    )
    upgrade_group = models.ForeignKey(
        UpgradeGroup,
        verbose_name=_("upgrade group"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="plans",
    )
    upgrade_rank = models.PositiveSmallIntegerField(
        _("rank in the upgrade group"),
        default=0,
        help_text=_("Moving to a higher rank is an upgrade, to a lower one a downgrade."),
    )
    manual_fulfilment = models.BooleanField(
        _("manual fulfilment"),
        default=False,
        help_text=_("Changes to this plan stay pending until an operator marks them fulfilled."),
    )
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    contract = models.ForeignKey(
        "ProductContract",
        verbose_name=_("product contract"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="plans",
        help_text=_(
            "Selling the plan gives the subscription this contract: its issues or credits, and "
            "for a time-based one its runtime and cancellation period."
        ),
    )
    history = HistoricalRecords(m2m_fields=[bundles, addon_bundles])

    class Meta:
        verbose_name = _("plan")
        verbose_name_plural = _("plans")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(billing_period_count__gte=1),
                name="plan_billing_period_positive",
                violation_error_message=_("The billing period needs a count of at least 1."),
            ),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True)
                | Q(valid_until__isnull=True)
                | Q(valid_until__gte=models.F("valid_from")),
                name="plan_validity_order",
                violation_error_message=_("A plan cannot be valid until a date before its start."),
            ),
            models.UniqueConstraint(
                fields=["upgrade_group", "upgrade_rank"],
                condition=Q(upgrade_group__isnull=False),
                name="plan_unique_rank_in_group",
                violation_error_message=_(
                    "Another plan of this upgrade group has this rank: ranks order the plans of "
                    "a group, so each is used once."
                ),
            ),
        ]

    @property
    def billing_period(self) -> Period:
        return period_of(self.billing_period_count, self.billing_period_unit)

    @property
    def trial_period(self) -> Period | None:
        return Period(self.trial_count, Unit(self.trial_unit)) if self.trial_count else None

    @property
    def billing_period_name(self) -> str:
        for name, period in NAMED_PERIODS.items():
            if period == self.billing_period:
                return str(PERIOD_NAMES[name])
        return str(self.billing_period)

    def is_valid_on(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_until is None or day <= self.valid_until
        )


class PlanFeature(models.Model):
    """The value a plan gives a feature: on/off, or a limit (empty limit: unlimited)."""

    plan = models.ForeignKey(
        Plan, verbose_name=_("plan"), on_delete=models.CASCADE, related_name="plan_features"
    )
    feature = models.ForeignKey(Feature, verbose_name=_("feature"), on_delete=models.PROTECT)
    enabled = models.BooleanField(_("enabled"), default=True)
    limit = models.PositiveIntegerField(
        _("limit"), null=True, blank=True, help_text=_("For limit features; empty: unlimited.")
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("plan feature")
        verbose_name_plural = _("plan features")
        ordering = ["plan", "feature__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "feature"],
                name="planfeature_unique",
                violation_error_message=_("This feature already has a value in this plan."),
            )
        ]

    def __str__(self) -> str:
        if not self.enabled:
            return f"{self.feature.code}: off"
        if self.limit is None:
            return f"{self.feature.code}: on"
        return f"{self.feature.code}: {self.limit} {self.feature.unit}".strip()


class BundleFeature(models.Model):
    """The value a bundle (an add-on) gives a feature: its limits add to the plan's."""

    bundle = models.ForeignKey(
        Bundle, verbose_name=_("bundle"), on_delete=models.CASCADE, related_name="bundle_features"
    )
    feature = models.ForeignKey(Feature, verbose_name=_("feature"), on_delete=models.PROTECT)
    enabled = models.BooleanField(_("enabled"), default=True)
    limit = models.PositiveIntegerField(
        _("limit"),
        null=True,
        blank=True,
        help_text=_("Added to the plan's limit; empty: unlimited."),
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("bundle feature")
        verbose_name_plural = _("bundle features")
        ordering = ["bundle", "feature__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["bundle", "feature"],
                name="bundlefeature_unique",
                violation_error_message=_("This feature already has a value in this bundle."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.bundle.code}: {self.feature.code}"


class UsageCharge(models.Model):
    """A plan's price for a metric's usage (billing-rules §12), billed in arrears: the usage of
    each billing period on the invoice of the next period's start."""

    plan = models.ForeignKey(
        Plan, verbose_name=_("plan"), on_delete=models.CASCADE, related_name="usage_charges"
    )
    metric = models.ForeignKey(
        BillableMetric, verbose_name=_("metric"), on_delete=models.PROTECT, related_name="charges"
    )
    price_sheet = models.ForeignKey(
        PriceSheet,
        verbose_name=_("price sheet"),
        on_delete=models.PROTECT,
        help_text=_(
            "Per unit, graduated, volume or package; its period is ignored: the usage of a "
            "billing period is priced whole."
        ),
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("usage charge")
        verbose_name_plural = _("usage charges")
        ordering = ["plan", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "metric"],
                name="usagecharge_unique_metric",
                violation_error_message=_("This plan already charges this metric."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.plan.code}: {self.metric.code}"


class ServicePeriodOption(models.Model):
    """A service period a plan can be bought for, with its discount (3 years −10 %)."""

    plan = models.ForeignKey(
        Plan, verbose_name=_("plan"), on_delete=models.CASCADE, related_name="service_periods"
    )
    years = models.PositiveSmallIntegerField(_("years"))
    discount_percent = models.DecimalField(
        _("discount (%)"), max_digits=5, decimal_places=2, default=Decimal("0")
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("service period option")
        verbose_name_plural = _("service period options")
        ordering = ["plan", "years"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "years"],
                name="serviceperiod_unique_years",
                violation_error_message=_(
                    "This plan already offers a service period of that length."
                ),
            ),
            models.CheckConstraint(
                condition=Q(years__gte=1),
                name="serviceperiod_years_positive",
                violation_error_message=_("A service period lasts at least one year."),
            ),
            models.CheckConstraint(
                condition=Q(discount_percent__gte=0) & Q(discount_percent__lt=100),
                name="serviceperiod_discount_range",
                violation_error_message=_(
                    "A service-period discount lies from 0 up to, but not including, 100 (percent)."
                ),
            ),
        ]

    def __str__(self) -> str:
        label = _("%(years)s year(s)") % {"years": self.years}
        if self.discount_percent:
            return f"{label} (−{self.discount_percent.normalize():f} %)"
        return str(label)


class ProductContract(Localized):
    """How a product is delivered and billed over time (billing-rules §8)."""

    class Kind(models.TextChoices):
        TIME = "time", _("time-based")
        ISSUE = "issue", _("issue-based")
        CREDIT = "credit", _("credit-based")

    class Runtime(models.TextChoices):
        UNTIL_CANCELLED = "until_cancelled", _("until cancellation")
        FIXED = "fixed", _("fixed")

    code = code_field()
    kind = models.CharField(_("kind"), max_length=6, choices=Kind.choices)
    product = models.ForeignKey(
        Product, verbose_name=_("product"), on_delete=models.PROTECT, related_name="contracts"
    )
    price_sheet = models.ForeignKey(
        PriceSheet, verbose_name=_("price sheet"), on_delete=models.PROTECT, null=True, blank=True
    )
    # Time-based
    runtime = models.CharField(_("runtime"), max_length=16, choices=Runtime.choices, blank=True)
    runtime_count = models.PositiveSmallIntegerField(_("runtime count"), null=True, blank=True)
    runtime_unit = models.CharField(
        _("runtime unit"), max_length=5, choices=TimeUnit.choices, blank=True
    )
    # Time-based and credit-based with intervals
    accounting_period_count = models.PositiveSmallIntegerField(
        _("accounting period count"), null=True, blank=True
    )
    accounting_period_unit = models.CharField(
        _("accounting period unit"), max_length=5, choices=TimeUnit.choices, blank=True
    )
    # Time-based: the subscription interval. Issue-based: the billing period of the issues.
    interval_count = models.PositiveSmallIntegerField(
        _("subscription interval / billing period count"), null=True, blank=True
    )
    interval_unit = models.CharField(
        _("subscription interval / billing period unit"),
        max_length=5,
        choices=TimeUnit.choices,
        blank=True,
    )
    # Time-based: before the end of the interval. Issue-based: before the next issue.
    cancellation_count = models.PositiveSmallIntegerField(_("cancellation period"), default=0)
    cancellation_unit = models.CharField(
        _("cancellation period unit"), max_length=5, choices=TimeUnit.choices, default=TimeUnit.DAY
    )
    # Issue-based
    issues_per_period = models.PositiveSmallIntegerField(
        _("issues per billing period"), null=True, blank=True
    )
    chargeable_issues = models.PositiveSmallIntegerField(
        _("chargeable issues"),
        null=True,
        blank=True,
        help_text=_("The free issues (the rest) come last in each billing period."),
    )
    repeat_until_cancelled = models.BooleanField(_("repeat until cancelled"), default=True)
    # Credit-based
    credit_amount = models.DecimalField(
        _("credits"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    credit_intervals = models.BooleanField(
        _("with time intervals"),
        default=False,
        help_text=_(
            "Credits are granted each accounting period and unused credits expire at its end."
        ),
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("product contract")
        verbose_name_plural = _("product contracts")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="time")
                | (
                    ~Q(runtime="")
                    & Q(accounting_period_count__gte=1, interval_count__gte=1)
                    & ~Q(accounting_period_unit="")
                    & ~Q(interval_unit="")
                ),
                name="contract_time_fields",
                violation_error_message=_(
                    "A time-based contract needs a runtime, an accounting period and a "
                    "subscription interval."
                ),
            ),
            models.CheckConstraint(
                condition=~Q(runtime="fixed") | (Q(runtime_count__gte=1) & ~Q(runtime_unit="")),
                name="contract_fixed_runtime",
                violation_error_message=_("A fixed runtime needs its length and unit."),
            ),
            models.CheckConstraint(
                condition=~Q(kind="issue")
                | (
                    Q(
                        issues_per_period__gte=1,
                        chargeable_issues__isnull=False,
                        interval_count__gte=1,
                    )
                    & Q(chargeable_issues__lte=models.F("issues_per_period"))
                    & ~Q(interval_unit="")
                ),
                name="contract_issue_fields",
                violation_error_message=_(
                    "An issue-based contract needs its billing period, at least one issue per "
                    "period, and no more chargeable issues than issues."
                ),
            ),
            models.CheckConstraint(
                condition=~Q(kind="credit") | Q(credit_amount__gt=0),
                name="contract_credit_amount",
                violation_error_message=_("A credit-based contract needs a credit amount above 0."),
            ),
            models.CheckConstraint(
                condition=~Q(kind="credit", credit_intervals=True)
                | (Q(accounting_period_count__gte=1) & ~Q(accounting_period_unit="")),
                name="contract_credit_intervals",
                violation_error_message=_(
                    "Credits granted per interval need the accounting period they are granted for."
                ),
            ),
        ]

    @property
    def accounting_period(self) -> Period | None:
        if not self.accounting_period_count or not self.accounting_period_unit:
            return None
        return Period(self.accounting_period_count, Unit(self.accounting_period_unit))

    @property
    def interval(self) -> Period | None:
        if not self.interval_count or not self.interval_unit:
            return None
        return Period(self.interval_count, Unit(self.interval_unit))


class CouponCampaign(Localized):
    """A campaign of codes generated from a template (billing-rules §7).

    A coupon discounts one purchase; a voucher's discount lasts the duration of the discounts of
    its bundle (N periods or forever).
    """

    class Kind(models.TextChoices):
        COUPON = "coupon", _("coupon (one purchase)")
        VOUCHER = "voucher", _("voucher (lasting)")

    class Charset(models.TextChoices):
        NUMERIC = "numeric", _("numeric")
        ALPHANUMERIC = "alphanumeric", _("alphanumeric")

    class Status(models.TextChoices):
        ACTIVE = "active", pgettext_lazy("campaign status", "active")
        EXPIRED = "expired", pgettext_lazy("campaign status", "expired")

    code = code_field()
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.COUPON)
    bundle = models.ForeignKey(
        Bundle,
        verbose_name=_("discount bundle"),
        on_delete=models.PROTECT,
        related_name="coupon_campaigns",
        help_text=_("The bundle whose discounts (and products) a redeemed code adds."),
    )
    plans = models.ManyToManyField(
        Plan,
        verbose_name=_("valid for plans"),
        blank=True,
        related_name="coupon_campaigns",
        help_text=_("Empty: valid for every plan."),
    )
    code_template = models.CharField(
        _("code template"),
        max_length=60,
        help_text=_("One run of # is the variable part, e.g. coupon_##."),
    )
    charset = models.CharField(
        _("characters"), max_length=12, choices=Charset.choices, default=Charset.NUMERIC
    )
    quantity = models.PositiveIntegerField(_("number of codes"))
    redemption_quantity = models.PositiveIntegerField(_("redemptions per code"), default=1)
    range_start = models.PositiveIntegerField(
        _("range start"), null=True, blank=True, help_text=_("First number of numeric codes.")
    )
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.ACTIVE, db_index=True
    )
    history = HistoricalRecords(m2m_fields=[plans])
    # django-simple-history's reason for the next save(), set on the instance (declared for the
    # type checker only: no class attribute, simple-history tests it with hasattr).
    _change_reason: str

    class Meta:
        verbose_name = _("coupon campaign")
        verbose_name_plural = _("coupon campaigns")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gte=1) & Q(redemption_quantity__gte=1),
                name="campaign_quantities_positive",
                violation_error_message=_(
                    "A campaign has at least one code, each redeemable at least once."
                ),
            ),
            models.CheckConstraint(
                condition=~Q(charset="numeric") | Q(range_start__isnull=False),
                name="campaign_numeric_range_start",
                violation_error_message=_("Numeric codes need the range start."),
            ),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True)
                | Q(valid_until__isnull=True)
                | Q(valid_until__gte=models.F("valid_from")),
                name="campaign_validity_order",
                violation_error_message=_(
                    "A campaign cannot be valid until a date before its start."
                ),
            ),
        ]


class CouponCode(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", pgettext_lazy("code status", "active")
        EXHAUSTED = "exhausted", pgettext_lazy("code status", "fully redeemed")
        EXPIRED = "expired", pgettext_lazy("code status", "expired")
        DISABLED = "disabled", pgettext_lazy("code status", "disabled")

    campaign = models.ForeignKey(
        CouponCampaign, verbose_name=_("campaign"), on_delete=models.CASCADE, related_name="codes"
    )
    code = models.CharField(_("code"), max_length=80, unique=True)
    max_redemptions = models.PositiveIntegerField(_("redemptions allowed"))
    times_redeemed = models.PositiveIntegerField(_("times redeemed"), default=0)
    status = models.CharField(
        _("status"), max_length=9, choices=Status.choices, default=Status.ACTIVE, db_index=True
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("coupon code")
        verbose_name_plural = _("coupon codes")
        ordering = ["campaign", "code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(times_redeemed__lte=models.F("max_redemptions")),
                name="couponcode_not_over_redeemed",
                violation_error_message=_("A code cannot be redeemed more often than allowed."),
            )
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def remaining_redemptions(self) -> int:
        return self.max_redemptions - self.times_redeemed


class OffersGrid(Localized):
    """A public page comparing plans (storefront `/offers/<code>/`): which plans, in which order,
    for which audience, with the features each has. Composed in the admin; prices, trials,
    commitments and features come from the plans themselves, never typed twice."""

    class Segment(models.TextChoices):
        PUBLIC = "public", _("public: anyone, listed on /offers/")
        PARTNERS = "partners", _("partners: shown to partner users only")
        CAMPAIGN = "campaign", _("campaign: reached by its link, with a coupon campaign")

    code = models.SlugField(
        _("code"),
        max_length=60,
        unique=True,
        help_text=_("Used in the page's address: /offers/<code>/."),
    )
    intro = models.TextField(_("introduction (English)"), blank=True)
    intro_fr = models.TextField(_("introduction (French)"), blank=True)
    segment = models.CharField(
        _("segment"), max_length=10, choices=Segment.choices, default=Segment.PUBLIC
    )
    campaign = models.ForeignKey(
        CouponCampaign,
        verbose_name=_("coupon campaign"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="offers_grids",
        help_text=_("For a campaign grid: the campaign whose codes its visitors redeem."),
    )
    currency = currency_field()
    frame_ancestors = models.CharField(
        _("sites allowed to embed it"),
        max_length=500,
        blank=True,
        help_text=_(
            "Origins separated by spaces (https://www.example.com) allowed to show the embeddable "
            "variant in a frame. Empty: the STOREFRONT_FRAME_ANCESTORS setting."
        ),
    )
    is_active = models.BooleanField(_("published"), default=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("offers grid")
        verbose_name_plural = _("offers grids")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(segment="campaign") | Q(campaign__isnull=False),
                name="offersgrid_campaign_named",
                violation_error_message=_("A campaign grid names its coupon campaign."),
            )
        ]

    @property
    def display_intro(self) -> str:
        return self.localized("intro")


class OffersGridPlan(models.Model):
    """One column of a grid: a plan, and the same offer billed yearly where it exists (the
    grid's monthly/yearly toggle)."""

    grid = models.ForeignKey(
        OffersGrid, verbose_name=_("grid"), on_delete=models.CASCADE, related_name="entries"
    )
    plan = models.ForeignKey(
        Plan, verbose_name=_("plan"), on_delete=models.PROTECT, related_name="grid_entries"
    )
    yearly_plan = models.ForeignKey(
        Plan,
        verbose_name=_("same offer billed yearly"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Shown when the visitor switches the grid to yearly prices."),
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    highlighted = models.BooleanField(_("highlighted"), default=False)
    badge = models.CharField(_("badge (English)"), max_length=40, blank=True)
    badge_fr = models.CharField(_("badge (French)"), max_length=40, blank=True)
    # The grid's columns are catalog too: each change is an audit row, as a plan's features are.
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("plan of the grid")
        verbose_name_plural = _("plans of the grid")
        ordering = ["grid", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["grid", "plan"],
                name="offersgridplan_unique_plan",
                violation_error_message=_("This plan is already in the grid."),
            ),
            models.UniqueConstraint(
                fields=["grid"],
                condition=Q(highlighted=True),
                name="offersgridplan_one_highlight",
                violation_error_message=_("A grid highlights one plan at most."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.grid.code}: {self.plan.code}"

    @property
    def display_badge(self) -> str:
        language = (translation.get_language() or settings.LANGUAGE_CODE)[:2]
        return (self.badge_fr if language == "fr" else "") or self.badge
