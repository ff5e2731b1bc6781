"""The demo catalog: the offers of docs/billing-rules.md, ready to sell.

Idempotent: every object is looked up by its code and written only when it differs, so running
the seed twice changes nothing (and leaves no empty entries in the audit history).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, TypeVar

from django.db import models, transaction
from djmoney.money import Money

from catalog import services
from catalog.models import (
    Bundle,
    BundleItem,
    CouponCampaign,
    Discount,
    Feature,
    PaymentType,
    Plan,
    PlanFeature,
    PriceSheet,
    PriceTier,
    Product,
    ProductContract,
    SeatType,
    ServicePeriodOption,
    TaxRate,
    Term,
    UpgradeGroup,
)
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
    vat = upsert(TaxRate, {"code": "FR-VAT-20"}, name="TVA 20 %", rate=D("20.00"))
    export = upsert(TaxRate, {"code": "EXPORT-0"}, name="Export of services (0 %)", rate=D("0.00"))

    gateway = upsert(SeatType, {"code": "gateway"}, name="Gateway", name_fr="Passerelle")
    sensor = upsert(SeatType, {"code": "sensor"}, name="Sensor", name_fr="Capteur")

    def product(code: str, name: str, name_fr: str, **extra: Any) -> Product:
        return upsert(Product, {"code": code}, name=name, name_fr=name_fr, **extra)

    seat_gateway = product(
        "seat-gateway",
        "Gateway seat",
        "Licence passerelle",
        seat_type=gateway,
        ledger_account="706100",
        invoice_item_type="licence",
    )
    seat_sensor = product(
        "seat-sensor",
        "Sensor seat",
        "Licence capteur",
        seat_type=sensor,
        ledger_account="706100",
        invoice_item_type="licence",
    )
    hosting_a = product("hosting-a", "Hosting A", "Hébergement A", ledger_account="706200")
    hosting_b = product("hosting-b", "Hosting B", "Hébergement B", ledger_account="706200")
    backup = product("cloud-backup", "Cloud backup", "Sauvegarde en ligne", ledger_account="706300")
    office = product("office-suite", "Office suite", "Suite bureautique", ledger_account="706300")
    platform = product(
        "platform", "Platform licence", "Licence plateforme", ledger_account="706300"
    )
    extra_service = product(
        "service-supplementaire",
        "Additional service",
        "Service supplémentaire",
        ledger_account="706400",
    )
    storage = product(
        "storage-gb", "Storage (per GB)", "Stockage (par Go)", ledger_account="706300"
    )
    maintenance = product("maintenance", "Maintenance", "Maintenance", ledger_account="706500")
    magazine = product("magazine", "Field magazine", "Magazine terrain", ledger_account="706600")
    support = product(
        "support-hours", "Support hours", "Heures de support", ledger_account="706500"
    )

    def sheet(
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

    gateway_price = sheet("seat-gateway-eur", seat_gateway, "EUR", "per_unit", "60.00", 1, "year")
    sensor_price = sheet("seat-sensor-eur", seat_sensor, "EUR", "per_unit", "60.00", 1, "year")
    hosting_a_price = sheet("hosting-a-cad", hosting_a, "CAD", "flat", "150.00")
    hosting_b_price = sheet("hosting-b-cad", hosting_b, "CAD", "flat", "250.00")
    backup_price = sheet("cloud-backup-eur", backup, "EUR", "flat", "30.00")
    office_price = sheet("office-suite-eur", office, "EUR", "flat", "45.00")
    platform_price = sheet("platform-eur", platform, "EUR", "flat", "1200.00", 1, "year")
    extra_price = sheet("service-supplementaire-eur", extra_service, "EUR", "flat", "10.00")
    extra_price_cad = sheet("service-supplementaire-cad", extra_service, "CAD", "flat", "10.00")
    storage_graduated = sheet("storage-graduated-eur", storage, "EUR", "graduated", None)
    storage_volume = sheet("storage-volume-eur", storage, "EUR", "volume", None)
    for tiered in (storage_graduated, storage_volume):
        for first, last, price in ((1, 10, "10.00"), (11, 50, "8.00"), (51, None, "6.00")):
            upsert(
                PriceTier,
                {"price_sheet": tiered, "first_unit": first},
                last_unit=last,
                unit_price=D(price),
                currency="EUR",
            )
    maintenance_price = sheet("maintenance-eur", maintenance, "EUR", "flat", "25.00")
    magazine_price = sheet("magazine-eur", magazine, "EUR", "per_unit", "8.00")
    support_price = sheet("support-hours-eur", support, "EUR", "flat", "400.00")

    coupon_discount = upsert(
        Discount,
        {"code": "service-20"},
        name="20 % off the additional service",
        name_fr="20 % sur le service supplémentaire",
        kind="percentage",
        percentage=D("20.00"),
        target="product",
        target_product=extra_service,
        duration="once",
        sequence=50,
    )
    welcome = upsert(
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
    )

    # Terms of billing-rules §4–5 ------------------------------------------------------------------
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
        tax_rate=export,
        description="Cancel at any time; the cancellation takes effect at the end of the month.",
        description_fr="Résiliable à tout moment, avec effet à la fin du mois.",
    )

    # Bundles -------------------------------------------------------------------------------
    def bundle(
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

    device_bundle = bundle(
        "device-seats",
        "Device seats",
        "Licences d'équipements",
        [
            {"product": seat_gateway, "price_sheet": gateway_price, "required": False},
            {"product": seat_sensor, "price_sheet": sensor_price, "required": False},
        ],
    )
    hosting_a_bundle = bundle(
        "hosting-a",
        "Hosting A",
        "Hébergement A",
        [{"product": hosting_a, "price_sheet": hosting_a_price}],
    )
    hosting_b_bundle = bundle(
        "hosting-b",
        "Hosting B",
        "Hébergement B",
        [{"product": hosting_b, "price_sheet": hosting_b_price}],
    )
    backup_bundle = bundle(
        "cloud-backup",
        "Cloud backup",
        "Sauvegarde en ligne",
        [{"product": backup, "price_sheet": backup_price}],
    )
    office_bundle = bundle(
        "office-suite",
        "Office suite",
        "Suite bureautique",
        [{"product": office, "price_sheet": office_price}],
    )
    platform_bundle = bundle(
        "platform", "Platform", "Plateforme", [{"product": platform, "price_sheet": platform_price}]
    )
    addon_eur = bundle(
        "service-plus-eur",
        "Additional service (EUR)",
        "Service supplémentaire (EUR)",
        [{"product": extra_service, "price_sheet": extra_price, "required": False}],
    )
    addon_cad = bundle(
        "service-plus-cad",
        "Additional service (CAD)",
        "Service supplémentaire (CAD)",
        [{"product": extra_service, "price_sheet": extra_price_cad, "required": False}],
    )
    storage_bundle = bundle(
        "storage",
        "Storage, graduated",
        "Stockage, par paliers",
        [{"product": storage, "price_sheet": storage_graduated, "required": False}],
    )
    coupon_bundle = bundle(
        "coupon-service-20",
        "20 % off the additional service",
        "20 % sur le service supplémentaire",
        [{"discount": coupon_discount}],
    )
    bundle("welcome", "Welcome offer", "Offre de bienvenue", [{"discount": welcome}])

    # Features ------------------------------------------------------------------------------
    storage_feature = upsert(
        Feature, {"code": "storage"}, name="Storage", name_fr="Stockage", kind="limit", unit="GB"
    )
    priority = upsert(
        Feature,
        {"code": "priority-support"},
        name="Priority support",
        name_fr="Support prioritaire",
        kind="on_off",
    )
    api = upsert(
        Feature, {"code": "api-access"}, name="API access", name_fr="Accès API", kind="on_off"
    )

    hosting_group = upsert(UpgradeGroup, {"code": "hosting"}, name="Hosting", name_fr="Hébergement")

    # Plans ---------------------------------------------------------------------------------
    def plan(
        code: str,
        bundles: list[Bundle],
        addons: list[Bundle],
        features: dict[Feature, tuple[bool, int | None]],
        service_periods: list[tuple[int, str]] = (),
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

    plans = [
        plan(
            "cloud-backup-monthly",
            [backup_bundle],
            [addon_eur],
            {storage_feature: (True, 200)},
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
            term=no_early_exit,
        ),
        plan(
            "office-24m",
            [office_bundle],
            [addon_eur],
            {api: (True, None)},
            name="Office suite, 24 months",
            name_fr="Suite bureautique, 24 mois",
            description="45.00 EUR a month for 24 months; early exit against a prorated penalty.",
            description_fr="45,00 EUR par mois sur 24 mois ; sortie anticipée contre pénalité.",
            currency="EUR",
            billing_period_count=1,
            billing_period_unit="month",
            term=penalty_24,
        ),
        plan(
            "hosting-a",
            [hosting_a_bundle],
            [addon_cad],
            {storage_feature: (True, 100), priority: (False, None)},
            name="Hosting A",
            name_fr="Hébergement A",
            description="150.00 CAD a month.",
            description_fr="150,00 CAD par mois.",
            currency="CAD",
            billing_period_count=1,
            billing_period_unit="month",
            trial_count=0,
            term=hosting_terms,
            upgrade_group=hosting_group,
            upgrade_rank=1,
        ),
        plan(
            "hosting-b",
            [hosting_b_bundle],
            [addon_cad],
            {storage_feature: (True, 500), priority: (True, None)},
            name="Hosting B",
            name_fr="Hébergement B",
            description="250.00 CAD a month, with priority support.",
            description_fr="250,00 CAD par mois, avec support prioritaire.",
            currency="CAD",
            billing_period_count=1,
            billing_period_unit="month",
            term=hosting_terms,
            upgrade_group=hosting_group,
            upgrade_rank=2,
        ),
        plan(
            "device-seats",
            [device_bundle],
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
            term=device_terms,
            payment_types=[str(PaymentType.BANK_TRANSFER), str(PaymentType.SEPA_DEBIT)],
        ),
        plan(
            "platform-yearly",
            [platform_bundle, storage_bundle],
            [],
            {api: (True, None), priority: (True, None), storage_feature: (True, None)},
            name="Platform, yearly",
            name_fr="Plateforme, annuelle",
            description="A two-year commitment renewed yearly.",
            description_fr="Un engagement de deux ans renouvelé chaque année.",
            currency="EUR",
            billing_period_count=1,
            billing_period_unit="year",
            term=two_years,
            manual_fulfilment=True,
        ),
    ]
    for demo_plan in plans:
        if demo_plan.status == Plan.Status.DRAFT:
            services.plan_activate(plan=demo_plan, today=clock.today())

    # Product contracts (billing-rules §8) ---------------------------------------------------------
    upsert(
        ProductContract,
        {"code": "maintenance-monthly"},
        name="Maintenance, monthly until cancelled",
        name_fr="Maintenance mensuelle jusqu'à résiliation",
        kind="time",
        product=maintenance,
        price_sheet=maintenance_price,
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
        product=magazine,
        price_sheet=magazine_price,
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
        product=support,
        price_sheet=support_price,
        credit_amount=D("20.00"),
        credit_intervals=True,
        accounting_period_count=1,
        accounting_period_unit="month",
    )

    # Coupon campaign of billing-rules example 7.1 -------------------------------------------------
    campaign = upsert(
        CouponCampaign,
        {"code": "coupon-87"},
        name="Additional service −20 %",
        name_fr="Service supplémentaire −20 %",
        kind="coupon",
        bundle=coupon_bundle,
        code_template="coupon_##",
        charset="numeric",
        quantity=5,
        redemption_quantity=1,
        range_start=87,
    )
    services.coupon_codes_generate(campaign=campaign)
    return {"plans": plans, "campaign": campaign}
