"""The demo catalog: the offers of docs/billing-rules.md, ready to sell.

Idempotent: every object is looked up by its code and written only when it differs, so running
the seed twice changes nothing (and leaves no empty entries in the audit history).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, TypeVar

from django.db import models, transaction
from djmoney.money import Money

from catalog import services
from catalog.models import (
    BillableMetric,
    Bundle,
    BundleItem,
    CouponCampaign,
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
    UpgradeGroup,
    UsageCharge,
)
from catalog.tax import DEFAULT_RULES
from core import clock

D = Decimal
ALL_PAYMENT_TYPES = [PaymentType.BANK_TRANSFER, PaymentType.CARD, PaymentType.SEPA_DEBIT]


M = TypeVar("M", bound=models.Model)


def upsert(model: type[M], lookup: dict[str, Any], **values: Any) -> M:
    """Get the row matching `lookup` and bring it to `values`, saving only on a difference."""
    obj = model.objects.filter(**lookup).first()
    if obj is None:
        return model.objects.create(**lookup, **values)
    changed = False
    for name, value in values.items():
        current = getattr(obj, name)
        if isinstance(current, Money) and not isinstance(value, Money):
            current = current.amount  # amounts are given as decimals in the row's currency
        if current != value:
            setattr(obj, name, value)
            changed = True
    if changed:
        obj.save()
    return obj


def _set_m2m(manager, objects: list[models.Model]) -> None:
    if set(manager.all()) != set(objects):
        manager.set(objects)


@transaction.atomic
def seed_catalog() -> dict[str, Any]:
    """The whole catalog, part by part, each part given the rows it refers to. The order is the
    order the rows are created in (their ids in an empty database)."""
    tax_rates = _tax_rates()
    seat_types = _seat_types()
    products = _products(seat_types)
    sheets = _price_sheets(products)
    discounts = _discounts(products)
    terms = _terms(tax_rates)
    bundles = _bundles(products, sheets, discounts)
    features = _features()
    plans = _plans(bundles, features, terms)
    # A contract's issues and credits are invoiced on lines of their own, whatever plan sells
    # them: their products carry their rate (the others take their plan's term's).
    for code in ("maintenance", "magazine", "support-hours"):
        upsert(Product, {"code": code}, tax_rate=tax_rates["FR-VAT-20"])
    _product_contracts(products, sheets)
    campaign = _coupon_campaign(bundles)
    plans += _usage_and_contract_offers(tax_rates, features)
    plans.append(_cloud_backup_yearly(terms["one-year"], products, features))
    grid = _offers_grid()
    return {"plans": plans, "campaign": campaign, "grid": grid}


def _tax_rates() -> dict[str, TaxRate]:
    """The French rate products are sold at at home, and the standard rates of the member
    states whose consumers buy (One-Stop Shop). Who pays which is decided by the tax rules
    (billing-rules §10): a Canadian customer pays no VAT (O), a German company with a VAT
    number reverse-charges it (AE), whatever rate its product carries at home."""
    rates = {
        "FR-VAT-20": upsert(
            TaxRate,
            {"code": "FR-VAT-20"},
            name="TVA 20 %",
            rate=D("20.00"),
            country="FR",
            is_standard=True,
        ),
        "BE-VAT-21": upsert(
            TaxRate,
            {"code": "BE-VAT-21"},
            name="BTW/TVA België 21 %",
            rate=D("21.00"),
            country="BE",
            is_standard=True,
        ),
    }
    upsert(
        SellerProfile,
        {"siren": "732829320"},
        legal_name="Cadence Demo SAS",
        legal_form="SAS au capital de 10 000 €",
        registration_office="RCS Paris",
        siret="73282932000009",
        vat_number="FR44732829320",
        address_line1="10 rue de la Facture",
        postal_code="75001",
        city="Paris",
        country="FR",
        email="billing@cadence.example",
        iban="FR7630006000011234567890189",
        bic="AGRIFRPP",
        footer_en="Cadence Demo SAS — questions about this invoice: billing@cadence.example",
        footer_fr="Cadence Demo SAS — une question sur cette facture : billing@cadence.example",
    )
    for rule in DEFAULT_RULES:
        upsert(
            TaxRule,
            {
                "seller_country": "FR",
                "customer_zone": rule.customer_zone,
                "customer_country": rule.customer_country,
                "customer_kind": rule.customer_kind,
            },
            category=rule.category,
            rate_source=rule.rate_source,
            exemption_code=rule.exemption_code,
            mention_en=rule.mention_en,
            mention_fr=rule.mention_fr,
        )
    return rates


def _seat_types() -> dict[str, SeatType]:
    return {
        "gateway": upsert(SeatType, {"code": "gateway"}, name="Gateway", name_fr="Passerelle"),
        "sensor": upsert(SeatType, {"code": "sensor"}, name="Sensor", name_fr="Capteur"),
    }


# Products and their price sheets ------------------------------------------------------------------
def _product(code: str, name: str, name_fr: str, **extra: Any) -> Product:
    return upsert(Product, {"code": code}, name=name, name_fr=name_fr, **extra)


def _products(seat_types: dict[str, SeatType]) -> dict[str, Product]:
    """The products, by code."""
    products = [
        _product(
            "seat-gateway",
            "Gateway seat",
            "Licence passerelle",
            seat_type=seat_types["gateway"],
            ledger_account="706100",
            invoice_item_type="licence",
        ),
        _product(
            "seat-sensor",
            "Sensor seat",
            "Licence capteur",
            seat_type=seat_types["sensor"],
            ledger_account="706100",
            invoice_item_type="licence",
        ),
        _product("hosting-a", "Hosting A", "Hébergement A", ledger_account="706200"),
        _product("hosting-b", "Hosting B", "Hébergement B", ledger_account="706200"),
        _product("cloud-backup", "Cloud backup", "Sauvegarde en ligne", ledger_account="706300"),
        _product("office-suite", "Office suite", "Suite bureautique", ledger_account="706300"),
        _product("platform", "Platform licence", "Licence plateforme", ledger_account="706300"),
        _product(
            "service-supplementaire",
            "Additional service",
            "Service supplémentaire",
            ledger_account="706400",
        ),
        _product("storage-gb", "Storage (per GB)", "Stockage (par Go)", ledger_account="706300"),
        _product("maintenance", "Maintenance", "Maintenance", ledger_account="706500"),
        _product("magazine", "Field magazine", "Magazine terrain", ledger_account="706600"),
        _product("support-hours", "Support hours", "Heures de support", ledger_account="706500"),
    ]
    return {p.code: p for p in products}


def _sheet(
    code: str,
    prod: Product,
    currency: str,
    model: str,
    amount: str | None,
    count: int = 1,
    unit: str = "month",
) -> PriceSheet:
    return upsert(
        PriceSheet,
        {"code": code},
        name=code.replace("-", " ").capitalize(),
        product=prod,
        currency=currency,
        pricing_model=model,
        amount=D(amount) if amount is not None else None,
        period_count=count,
        period_unit=unit,
    )


def _price_sheets(products: dict[str, Product]) -> dict[str, PriceSheet]:
    """The price sheets (and the storage tiers), by code."""
    p = products
    sheets = [
        _sheet("seat-gateway-eur", p["seat-gateway"], "EUR", "per_unit", "60.00", 1, "year"),
        _sheet("seat-sensor-eur", p["seat-sensor"], "EUR", "per_unit", "60.00", 1, "year"),
        _sheet("hosting-a-cad", p["hosting-a"], "CAD", "flat", "150.00"),
        _sheet("hosting-b-cad", p["hosting-b"], "CAD", "flat", "250.00"),
        _sheet("cloud-backup-eur", p["cloud-backup"], "EUR", "flat", "30.00"),
        _sheet("office-suite-eur", p["office-suite"], "EUR", "flat", "45.00"),
        _sheet("platform-eur", p["platform"], "EUR", "flat", "1200.00", 1, "year"),
        _sheet("service-supplementaire-eur", p["service-supplementaire"], "EUR", "flat", "10.00"),
        _sheet("service-supplementaire-cad", p["service-supplementaire"], "CAD", "flat", "10.00"),
        _sheet("storage-graduated-eur", p["storage-gb"], "EUR", "graduated", None),
        _sheet("storage-volume-eur", p["storage-gb"], "EUR", "volume", None),
    ]
    for tiered in sheets[-2:]:
        for first, last, price in ((1, 10, "10.00"), (11, 50, "8.00"), (51, None, "6.00")):
            upsert(
                PriceTier,
                {"price_sheet": tiered, "first_unit": first},
                last_unit=last,
                unit_price=D(price),
                currency="EUR",
            )
    sheets += [
        _sheet("maintenance-eur", p["maintenance"], "EUR", "flat", "25.00"),
        _sheet("magazine-eur", p["magazine"], "EUR", "per_unit", "8.00"),
        _sheet("support-hours-eur", p["support-hours"], "EUR", "flat", "400.00"),
    ]
    return {s.code: s for s in sheets}


def _discounts(products: dict[str, Product]) -> dict[str, Discount]:
    """The discounts, by code."""
    return {
        "service-20": upsert(
            Discount,
            {"code": "service-20"},
            name="20 % off the additional service",
            name_fr="20 % sur le service supplémentaire",
            kind="percentage",
            percentage=D("20.00"),
            target="product",
            target_product=products["service-supplementaire"],
            duration="once",
            sequence=50,
        ),
        "welcome-10": upsert(
            Discount,
            {"code": "welcome-10"},
            name="Welcome: 10 % for 3 periods",
            name_fr="Bienvenue : 10 % pendant 3 périodes",
            kind="percentage",
            percentage=D("10.00"),
            target="subscription",
            duration="periods",
            duration_periods=3,
            sequence=60,
        ),
    }


# Terms of billing-rules §4–5 ----------------------------------------------------------------------
def _terms(tax_rates: dict[str, TaxRate]) -> dict[str, Term]:
    """The terms, by code."""
    vat = tax_rates["FR-VAT-20"]
    one_year = upsert(
        Term,
        {"code": "one-year"},
        name="One year, renewable",
        name_fr="Un an, renouvelable",
        commitment_basis="calendar",
        commitment_count=1,
        commitment_unit="year",
        early_termination="allowed",
        auto_renew=True,
        tax_rate=vat,
        description="Renews for one year at a time. Cancel at any time before the renewal.",
        description_fr="Se renouvelle par périodes d'un an. Résiliable avant le renouvellement.",
    )
    no_early_exit = upsert(
        Term,
        {"code": "no-early-exit"},
        name="Commitment, no early termination",
        name_fr="Engagement sans résiliation anticipée",
        commitment_basis="billing_cycles",
        commitment_count=12,
        commitment_unit="",
        early_termination="forbidden",
        auto_renew=True,
        tax_rate=vat,
        description="A cancellation takes effect at the end of the commitment.",
        description_fr="Une résiliation prend effet à la fin de l'engagement.",
    )
    penalty_24 = upsert(
        Term,
        {"code": "penalty-24m"},
        name="24 months, early exit with a prorated penalty",
        name_fr="24 mois, sortie anticipée avec pénalité au prorata",
        commitment_basis="calendar",
        commitment_count=24,
        commitment_unit="month",
        early_termination="penalty",
        grace_count=14,
        grace_unit="day",
        currency="EUR",
        penalty_cap=D("240.00"),
        penalty_prorated=True,
        ledger_account="758000",
        invoice_item_type="penalty",
        tax_rate=vat,
        description=(
            "Early termination is possible at the end of a billing period against a penalty of "
            "up to 240.00 EUR, prorated to the remaining commitment; free within 14 days."
        ),
        description_fr=(
            "Résiliation anticipée possible en fin de période contre une pénalité d'au plus "
            "240,00 EUR au prorata de l'engagement restant ; gratuite sous 14 jours."
        ),
    )
    two_years = upsert(
        Term,
        {"code": "two-years-then-yearly"},
        name="Two years, then yearly",
        name_fr="Deux ans, puis annuel",
        commitment_basis="calendar",
        commitment_count=2,
        commitment_unit="year",
        early_termination="forbidden",
        renewal_term=one_year,
        auto_renew=True,
        tax_rate=vat,
        description="A two-year commitment that renews into one-year terms.",
        description_fr="Un engagement de deux ans renouvelé par périodes d'un an.",
    )
    device_terms = upsert(
        Term,
        {"code": "device-seats"},
        name="Device seats: 90-day notice, 3-month seat freeze",
        name_fr="Licences : préavis de 90 jours, gel des licences 3 mois",
        commitment_basis="calendar",
        commitment_count=1,
        commitment_unit="year",
        early_termination="forbidden",
        auto_renew=True,
        notice_count=90,
        notice_unit="day",
        freeze_count=3,
        freeze_unit="month",
        ledger_account="706100",
        invoice_item_type="licence",
        tax_rate=vat,
        description=(
            "Cancellations must reach us 90 days before the renewal date. Seats can be reduced "
            "until 3 months before the renewal, effective at the renewal, without refund."
        ),
        description_fr=(
            "Les résiliations doivent nous parvenir 90 jours avant la date de renouvellement. "
            "Les licences peuvent être réduites jusqu'à 3 mois avant le renouvellement, avec "
            "effet au renouvellement, sans remboursement."
        ),
    )
    hosting_terms = upsert(
        Term,
        {"code": "hosting"},
        name="Hosting, monthly",
        name_fr="Hébergement, mensuel",
        commitment_basis="calendar",
        commitment_count=0,
        commitment_unit="",
        early_termination="allowed",
        auto_renew=True,
        tax_rate=tax_rates["FR-VAT-20"],
        description="Cancel at any time; the cancellation takes effect at the end of the month.",
        description_fr="Résiliable à tout moment, avec effet à la fin du mois.",
    )
    terms = [one_year, no_early_exit, penalty_24, two_years, device_terms, hosting_terms]
    return {t.code: t for t in terms}


# Bundles ------------------------------------------------------------------------------------------
def _bundle(
    code: str, name: str, name_fr: str, items: list[dict[str, Any]], **extra: Any
) -> Bundle:
    obj = upsert(Bundle, {"code": code}, name=name, name_fr=name_fr, **extra)
    for position, item in enumerate(items):
        key = {"bundle": obj}
        if "product" in item:
            key["product"] = item["product"]
        else:
            key["discount"] = item["discount"]
        upsert(
            BundleItem,
            key,
            kind="product" if "product" in item else "discount",
            price_sheet=item.get("price_sheet"),
            required=item.get("required", True),
            quantity=item.get("quantity", 1),
            position=position,
        )
    return obj


def _bundles(
    products: dict[str, Product],
    sheets: dict[str, PriceSheet],
    discounts: dict[str, Discount],
) -> dict[str, Bundle]:
    """The bundles (plans' and add-ons', a coupon's, the welcome offer), by code."""
    p, s = products, sheets

    def one(product: str, sheet: str, **item: Any) -> list[dict[str, Any]]:
        return [{"product": p[product], "price_sheet": s[sheet], **item}]

    bundles = [
        _bundle(
            "device-seats",
            "Device seats",
            "Licences d'équipements",
            one("seat-gateway", "seat-gateway-eur", required=False)
            + one("seat-sensor", "seat-sensor-eur", required=False),
        ),
        _bundle("hosting-a", "Hosting A", "Hébergement A", one("hosting-a", "hosting-a-cad")),
        _bundle("hosting-b", "Hosting B", "Hébergement B", one("hosting-b", "hosting-b-cad")),
        _bundle(
            "cloud-backup",
            "Cloud backup",
            "Sauvegarde en ligne",
            one("cloud-backup", "cloud-backup-eur"),
        ),
        _bundle(
            "office-suite",
            "Office suite",
            "Suite bureautique",
            one("office-suite", "office-suite-eur"),
        ),
        _bundle("platform", "Platform", "Plateforme", one("platform", "platform-eur")),
        _bundle(
            "service-plus-eur",
            "Additional service (EUR)",
            "Service supplémentaire (EUR)",
            one("service-supplementaire", "service-supplementaire-eur", required=False),
        ),
        _bundle(
            "service-plus-cad",
            "Additional service (CAD)",
            "Service supplémentaire (CAD)",
            one("service-supplementaire", "service-supplementaire-cad", required=False),
        ),
        _bundle(
            "storage",
            "Storage, graduated",
            "Stockage, par paliers",
            one("storage-gb", "storage-graduated-eur", required=False),
        ),
        _bundle(
            "coupon-service-20",
            "20 % off the additional service",
            "20 % sur le service supplémentaire",
            [{"discount": discounts["service-20"]}],
        ),
        _bundle(
            "welcome",
            "Welcome offer",
            "Offre de bienvenue",
            [{"discount": discounts["welcome-10"]}],
        ),
    ]
    return {b.code: b for b in bundles}


# Features -----------------------------------------------------------------------------------------
def _features() -> dict[str, Feature]:
    """The features, by code."""
    features = [
        upsert(
            Feature,
            {"code": "storage"},
            name="Storage",
            name_fr="Stockage",
            kind="limit",
            unit="GB",
            unit_fr="Go",
        ),
        upsert(
            Feature,
            {"code": "priority-support"},
            name="Priority support",
            name_fr="Support prioritaire",
            kind="on_off",
        ),
        upsert(
            Feature, {"code": "api-access"}, name="API access", name_fr="Accès API", kind="on_off"
        ),
    ]
    return {f.code: f for f in features}


# Plans --------------------------------------------------------------------------------------------
def _plan(
    code: str,
    bundles: list[Bundle],
    addons: list[Bundle],
    features: dict[Feature, tuple[bool, int | None]],
    service_periods: Sequence[tuple[int, str]] = (),
    **values: Any,
) -> Plan:
    values.setdefault("payment_types", [str(p) for p in ALL_PAYMENT_TYPES])
    obj = upsert(Plan, {"code": code}, **values)
    _set_m2m(obj.bundles, bundles)
    _set_m2m(obj.addon_bundles, list(addons))
    for feature, (enabled, limit) in features.items():
        upsert(PlanFeature, {"plan": obj, "feature": feature}, enabled=enabled, limit=limit)
    for years, percent in service_periods:
        upsert(ServicePeriodOption, {"plan": obj, "years": years}, discount_percent=D(percent))
    return obj


def _plans(
    bundles: dict[str, Bundle], features: dict[str, Feature], terms: dict[str, Term]
) -> list[Plan]:
    """The plans (and the upgrade group of the two hosting plans), activated."""
    hosting_group = upsert(UpgradeGroup, {"code": "hosting"}, name="Hosting", name_fr="Hébergement")
    b = bundles
    storage, priority, api = (
        features["storage"],
        features["priority-support"],
        features["api-access"],
    )
    plans = [
        _plan(
            "cloud-backup-monthly",
            [b["cloud-backup"]],
            [b["service-plus-eur"]],
            {storage: (True, 200)},
            name="Cloud backup, monthly",
            name_fr="Sauvegarde en ligne, mensuelle",
            description="30.00 EUR a month with a 12-month minimum commitment, after a 14-day trial.",
            description_fr="30,00 EUR par mois avec un engagement minimum de 12 mois, après 14 jours d'essai.",
            currency="EUR",
            billing_period_count=1,
            billing_period_unit="month",
            trial_count=14,
            trial_unit="day",
            minimum_commitment_occurrences=12,
            term=terms["no-early-exit"],
        ),
        _plan(
            "office-24m",
            [b["office-suite"]],
            [b["service-plus-eur"]],
            {api: (True, None)},
            name="Office suite, 24 months",
            name_fr="Suite bureautique, 24 mois",
            description="45.00 EUR a month for 24 months; early exit against a prorated penalty.",
            description_fr="45,00 EUR par mois sur 24 mois ; sortie anticipée contre pénalité.",
            currency="EUR",
            billing_period_count=1,
            billing_period_unit="month",
            term=terms["penalty-24m"],
        ),
        _plan(
            "hosting-a",
            [b["hosting-a"]],
            [b["service-plus-cad"]],
            {storage: (True, 100), priority: (False, None)},
            name="Hosting A",
            name_fr="Hébergement A",
            description="150.00 CAD a month.",
            description_fr="150,00 CAD par mois.",
            currency="CAD",
            billing_period_count=1,
            billing_period_unit="month",
            trial_count=0,
            term=terms["hosting"],
            upgrade_group=hosting_group,
            upgrade_rank=1,
        ),
        _plan(
            "hosting-b",
            [b["hosting-b"]],
            [b["service-plus-cad"]],
            {storage: (True, 500), priority: (True, None)},
            name="Hosting B",
            name_fr="Hébergement B",
            description="250.00 CAD a month, with priority support.",
            description_fr="250,00 CAD par mois, avec support prioritaire.",
            currency="CAD",
            billing_period_count=1,
            billing_period_unit="month",
            term=terms["hosting"],
            upgrade_group=hosting_group,
            upgrade_rank=2,
        ),
        _plan(
            "device-seats",
            [b["device-seats"]],
            [],
            {api: (True, None)},
            service_periods=[(1, "0"), (3, "10"), (5, "15")],
            name="Device seats",
            name_fr="Licences d'équipements",
            description="60.00 EUR per seat per year, invoiced every quarter.",
            description_fr="60,00 EUR par licence et par an, facturés chaque trimestre.",
            currency="EUR",
            billing_period_count=3,
            billing_period_unit="month",
            term=terms["device-seats"],
            payment_types=[str(PaymentType.BANK_TRANSFER), str(PaymentType.SEPA_DEBIT)],
        ),
        _plan(
            "platform-yearly",
            [b["platform"], b["storage"]],
            [],
            {api: (True, None), priority: (True, None), storage: (True, None)},
            name="Platform, yearly",
            name_fr="Plateforme, annuelle",
            description="A two-year commitment renewed yearly.",
            description_fr="Un engagement de deux ans renouvelé chaque année.",
            currency="EUR",
            billing_period_count=1,
            billing_period_unit="year",
            term=terms["two-years-then-yearly"],
            manual_fulfilment=True,
        ),
    ]
    for demo_plan in plans:
        if demo_plan.status == Plan.Status.DRAFT:
            services.plan_activate(plan=demo_plan, today=clock.today())
    return plans


# Product contracts (billing-rules §8) -------------------------------------------------------------
def _product_contracts(products: dict[str, Product], sheets: dict[str, PriceSheet]) -> None:
    upsert(
        ProductContract,
        {"code": "maintenance-monthly"},
        name="Maintenance, monthly until cancelled",
        name_fr="Maintenance mensuelle jusqu'à résiliation",
        kind="time",
        product=products["maintenance"],
        price_sheet=sheets["maintenance-eur"],
        runtime="until_cancelled",
        accounting_period_count=12,
        accounting_period_unit="month",
        interval_count=1,
        interval_unit="month",
        cancellation_count=1,
        cancellation_unit="month",
    )
    upsert(
        ProductContract,
        {"code": "magazine-6-issues"},
        name="Field magazine, 6 issues a half-year (1 free)",
        name_fr="Magazine terrain, 6 numéros par semestre (1 offert)",
        kind="issue",
        product=products["magazine"],
        price_sheet=sheets["magazine-eur"],
        interval_count=6,
        interval_unit="month",
        issues_per_period=6,
        chargeable_issues=5,
        repeat_until_cancelled=True,
        cancellation_count=14,
        cancellation_unit="day",
    )
    upsert(
        ProductContract,
        {"code": "support-credits"},
        name="Support, 20 hours a month",
        name_fr="Support, 20 heures par mois",
        kind="credit",
        product=products["support-hours"],
        price_sheet=sheets["support-hours-eur"],
        credit_amount=D("20.00"),
        credit_intervals=True,
        accounting_period_count=1,
        accounting_period_unit="month",
    )


# Coupon campaign of billing-rules example 7.1 -----------------------------------------------------
def _coupon_campaign(bundles: dict[str, Bundle]) -> CouponCampaign:
    campaign = upsert(
        CouponCampaign,
        {"code": "coupon-87"},
        name="Additional service −20 %",
        name_fr="Service supplémentaire −20 %",
        kind="coupon",
        bundle=bundles["coupon-service-20"],
        code_template="coupon_##",
        charset="numeric",
        quantity=5,
        redemption_quantity=1,
        range_start=87,
    )
    services.coupon_codes_generate(campaign=campaign)
    return campaign


# Offers billed per issue (billing-rules §8), by prepaid credits, by metered usage (billing-rules §12)
def _usage_and_contract_offers(
    tax_rates: dict[str, TaxRate], features: dict[str, Feature]
) -> list[Plan]:
    """Three monthly offers in EUR: a daily paper billed per issue (example 8.2), an API sold as
    prepaid credits, and an API metered per call (example 12.1)."""
    term = upsert(
        Term,
        {"code": "monthly-no-commitment"},
        name="Monthly, no commitment",
        name_fr="Mensuel, sans engagement",
        commitment_basis="calendar",
        commitment_count=0,
        commitment_unit="",
        early_termination="allowed",
        auto_renew=True,
        tax_rate=tax_rates["FR-VAT-20"],
        description="Cancel at any time; the cancellation takes effect at the end of the month.",
        description_fr="Résiliable à tout moment, avec effet à la fin du mois.",
    )
    plans = [
        _newspaper_offer(term),
        _prepaid_api_offer(term, features),
        _metered_api_offer(term, features),
    ]
    for demo_plan in plans:
        services.plan_validate(plan=demo_plan)
        services.usage_charges_validate(plan=demo_plan, charges=list(demo_plan.usage_charges.all()))
        if demo_plan.status == Plan.Status.DRAFT:
            services.plan_activate(plan=demo_plan, today=clock.today())
    return plans


def _digital_edition() -> Feature:
    """What a subscriber to the paper may read online (an on/off entitlement)."""
    feature = upsert(
        Feature,
        {"code": "digital-edition"},
        name="Digital edition",
        name_fr="Édition numérique",
        kind="on_off",
    )
    services.feature_validate(feature=feature)
    return feature


def _newspaper_offer(term: Term) -> Plan:
    """Le Quotidien Tech: 6 issues a month, 5 charged at 2.00 EUR (the 6th free), issue by issue
    until cancelled, cancellable up to 7 days before the next issue."""
    paper = _product(
        "quotidien-tech",
        "Tech Daily (issue)",
        "Le Quotidien Tech (numéro)",
        ledger_account="706600",
        invoice_item_type="issue",
    )
    per_issue = upsert(
        PriceSheet,
        {"code": "quotidien-tech-issue-eur"},
        name="Tech Daily, per issue",
        name_fr="Le Quotidien Tech, au numéro",
        product=paper,
        currency="EUR",
        pricing_model="per_unit",
        amount=D("2.00"),
        period_count=1,
        period_unit="month",
    )
    contract = upsert(
        ProductContract,
        {"code": "quotidien-tech-issues"},
        name="Tech Daily, 6 issues a month (1 free)",
        name_fr="Le Quotidien Tech, 6 numéros par mois (1 offert)",
        kind="issue",
        product=paper,
        price_sheet=per_issue,
        interval_count=1,
        interval_unit="month",
        issues_per_period=6,
        chargeable_issues=5,
        repeat_until_cancelled=True,
        cancellation_count=7,
        cancellation_unit="day",
    )
    services.product_contract_validate(contract=contract)
    # The issues are charged through the contract: the bundle delivers the paper at no charge.
    bundle = _bundle(
        "quotidien-tech",
        "Tech Daily",
        "Le Quotidien Tech",
        [{"product": paper, "price_sheet": None}],
    )
    return _plan(
        "quotidien-tech-monthly",
        [bundle],
        [],
        {_digital_edition(): (True, None)},
        name="Tech Daily, monthly",
        name_fr="Le Quotidien Tech, mensuel",
        description=(
            "6 issues a month at 2.00 EUR an issue, the 6th free: 10.00 EUR a month, billed at "
            "the start of the month. Cancel at least 7 days before the next issue."
        ),
        description_fr=(
            "6 numéros par mois à 2,00 EUR le numéro, le 6e offert : 10,00 EUR par mois, "
            "facturés en début de mois. Résiliable au plus tard 7 jours avant le prochain numéro."
        ),
        currency="EUR",
        billing_period_count=1,
        billing_period_unit="month",
        term=term,
        contract=contract,
    )


def _prepaid_api_offer(term: Term, features: dict[str, Feature]) -> Plan:
    """9.00 EUR a month with 1,000 API credits granted each month (unused ones expire at the
    month's end); more credits at 0.01 EUR each."""
    fee = _product("api-prepaid", "Prepaid API", "API prépayée", ledger_account="706300")
    credits = _product("api-credits", "API credits", "Crédits API", ledger_account="706300")
    fee_sheet = upsert(
        PriceSheet,
        {"code": "api-prepaid-eur"},
        name="Prepaid API, monthly fee",
        name_fr="API prépayée, abonnement mensuel",
        product=fee,
        currency="EUR",
        pricing_model="flat",
        amount=D("9.00"),
        period_count=1,
        period_unit="month",
    )
    per_credit = upsert(
        PriceSheet,
        {"code": "api-credits-eur"},
        name="API credits, per credit",
        name_fr="Crédits API, au crédit",
        product=credits,
        currency="EUR",
        pricing_model="per_unit",
        amount=D("0.01"),
        period_count=1,
        period_unit="month",
    )
    contract = upsert(
        ProductContract,
        {"code": "api-credits-monthly"},
        name="API, 1,000 credits a month",
        name_fr="API, 1 000 crédits par mois",
        kind="credit",
        product=credits,
        price_sheet=per_credit,
        credit_amount=D("1000.00"),
        credit_intervals=True,
        accounting_period_count=1,
        accounting_period_unit="month",
    )
    services.product_contract_validate(contract=contract)
    bundle = _bundle(
        "api-prepaid",
        "Prepaid API",
        "API prépayée",
        [{"product": fee, "price_sheet": fee_sheet}],
    )
    return _plan(
        "api-prepaid-monthly",
        [bundle],
        [],
        {features["api-access"]: (True, None)},
        name="Prepaid API, monthly",
        name_fr="API prépayée, mensuelle",
        description=(
            "9.00 EUR a month with 1,000 API credits each month; unused credits expire at the "
            "end of the month. More credits: 0.01 EUR each."
        ),
        description_fr=(
            "9,00 EUR par mois avec 1 000 crédits API chaque mois ; les crédits non utilisés "
            "expirent en fin de mois. Crédits supplémentaires : 0,01 EUR l'unité."
        ),
        currency="EUR",
        billing_period_count=1,
        billing_period_unit="month",
        term=term,
        contract=contract,
    )


def _metered_api_offer(term: Term, features: dict[str, Feature]) -> Plan:
    """19.00 EUR a month, API calls billed in arrears: the first 10,000 of a month free, then
    0.002 EUR each (example 12.1); a soft limit of 100,000 calls a month."""
    fee = _product("api-metered", "Metered API", "API au compteur", ledger_account="706300")
    calls = _product("api-calls", "API calls", "Appels API", ledger_account="706300")
    fee_sheet = upsert(
        PriceSheet,
        {"code": "api-metered-eur"},
        name="Metered API, monthly fee",
        name_fr="API au compteur, abonnement mensuel",
        product=fee,
        currency="EUR",
        pricing_model="flat",
        amount=D("19.00"),
        period_count=1,
        period_unit="month",
    )
    calls_sheet = upsert(
        PriceSheet,
        {"code": "api-calls-graduated-eur"},
        name="API calls, first 10,000 free",
        name_fr="Appels API, 10 000 premiers offerts",
        product=calls,
        currency="EUR",
        pricing_model="graduated",
        amount=None,
        period_count=1,
        period_unit="month",
    )
    for first, last, price in ((1, 10_000, "0.00"), (10_001, None, "0.002")):
        upsert(
            PriceTier,
            {"price_sheet": calls_sheet, "first_unit": first},
            last_unit=last,
            unit_price=D(price),
            currency="EUR",
        )
    metric = upsert(
        BillableMetric,
        {"code": "api_calls"},
        name="API calls",
        name_fr="Appels API",
        event_code="api_call",
        aggregation="count",
        field="",
        filters={},
        unit="calls",
    )
    limit = upsert(
        Feature,
        {"code": "api_calls_limit"},
        name="API calls a month",
        name_fr="Appels API par mois",
        kind="limit",
        unit="calls",
        unit_fr="appels",
        metric=metric,
        enforcement="soft",
    )
    dashboard = upsert(
        Feature,
        {"code": "usage-dashboard"},
        name="Usage dashboard",
        name_fr="Tableau de bord de consommation",
        kind="on_off",
    )
    for feature in (limit, dashboard):
        services.feature_validate(feature=feature)
    bundle = _bundle(
        "api-metered",
        "Metered API",
        "API au compteur",
        [{"product": fee, "price_sheet": fee_sheet}],
    )
    plan = _plan(
        "api-metered-monthly",
        [bundle],
        [],
        {limit: (True, 100_000), dashboard: (True, None), features["api-access"]: (True, None)},
        name="Metered API, monthly",
        name_fr="API au compteur, mensuelle",
        description=(
            "19.00 EUR a month. API calls are billed the next month: the first 10,000 of a "
            "month free, then 0.002 EUR a call; up to 100,000 calls a month."
        ),
        description_fr=(
            "19,00 EUR par mois. Les appels API sont facturés le mois suivant : les 10 000 "
            "premiers du mois offerts, puis 0,002 EUR l'appel ; jusqu'à 100 000 appels par mois."
        ),
        currency="EUR",
        billing_period_count=1,
        billing_period_unit="month",
        term=term,
    )
    upsert(UsageCharge, {"plan": plan, "metric": metric}, price_sheet=calls_sheet, position=0)
    return plan


# The storefront's offers grid (issue 18) ----------------------------------------------------------
def _cloud_backup_yearly(
    term: Term, products: dict[str, Product], features: dict[str, Feature]
) -> Plan:
    """Cloud backup billed by the year, two months free: the monthly plan's twin on the grid's
    yearly prices."""
    sheet = _sheet(
        "cloud-backup-yearly-eur", products["cloud-backup"], "EUR", "flat", "300.00", 1, "year"
    )
    bundle = _bundle(
        "cloud-backup-yearly",
        "Cloud backup, yearly",
        "Sauvegarde en ligne, annuelle",
        [{"product": products["cloud-backup"], "price_sheet": sheet}],
    )
    plan = _plan(
        "cloud-backup-yearly",
        [bundle],
        [],
        {features["storage"]: (True, 200)},
        name="Cloud backup, yearly",
        name_fr="Sauvegarde en ligne, annuelle",
        description="300.00 EUR a year (two months free), after a 14-day trial.",
        description_fr="300,00 EUR par an (deux mois offerts), après 14 jours d'essai.",
        currency="EUR",
        billing_period_count=1,
        billing_period_unit="year",
        trial_count=14,
        trial_unit="day",
        term=term,
    )
    if plan.status == Plan.Status.DRAFT:
        services.plan_activate(plan=plan, today=clock.today())
    return plan


def _offers_grid() -> OffersGrid:
    """/offers/cadence/: three offers a customer can buy alone, in EUR, the backup highlighted
    (with its yearly twin for the monthly/yearly toggle)."""
    grid = upsert(
        OffersGrid,
        {"code": "cadence"},
        name="Cadence offers",
        name_fr="Les offres Cadence",
        intro="Back up your files or build on our API: pick the offer that fits, change at any time.",
        intro_fr=(
            "Sauvegardez vos fichiers ou bâtissez sur notre API : choisissez l'offre qui vous "
            "convient, changez quand vous voulez."
        ),
        segment=OffersGrid.Segment.PUBLIC,
        campaign=None,
        currency="EUR",
        frame_ancestors="",
        is_active=True,
    )
    entries = [
        ("api-prepaid-monthly", None, False, "", ""),
        ("cloud-backup-monthly", "cloud-backup-yearly", True, "Most popular", "Le plus choisi"),
        ("api-metered-monthly", None, False, "", ""),
    ]
    # As activated (plan_activate saved a copy of the rows the seed holds).
    plans = Plan.objects.in_bulk(
        [code for code, yearly, *_rest in entries]
        + [yearly for _c, yearly, *_r in entries if yearly],
        field_name="code",
    )
    rows = []
    for position, (code, yearly, highlighted, badge, badge_fr) in enumerate(entries):
        rows.append(
            upsert(
                OffersGridPlan,
                {"grid": grid, "plan": plans[code]},
                yearly_plan=plans[yearly] if yearly else None,
                position=position,
                highlighted=highlighted,
                badge=badge,
                badge_fr=badge_fr,
            )
        )
    services.offers_grid_validate(grid=grid)
    services.offers_grid_entries_validate(grid=grid, entries=rows)
    return grid
