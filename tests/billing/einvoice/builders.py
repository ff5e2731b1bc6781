"""Issued documents for the e-invoice tests, made as the application makes them (a partner's
sale, the billing run, a credit note), each a case the XML must carry without a finding."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from billing.models import Invoice
from billing.services import billing_run
from billing.services.corrections import invoice_cancel_by_credit_note
from catalog.models import Plan, SeatType
from partners.models import Partner
from partners.services import partner_account_create
from subscriptions import services
from tests.catalog.factories import (
    BundleFactory,
    BundleItemFactory,
    PlanFactory,
    TaxRateFactory,
)
from tests.partners import builders as partners
from tests.subscriptions.factories import CustomerFactory

D = Decimal
JAN = date(2026, 1, 1)


def bill(day: date) -> None:
    billing_run(day=day, send_emails=False)


def acme() -> Partner:
    """A reseller whose billing account is a French company with its SIREN and VAT number: the
    party its customers' subscriptions are invoiced to (billing-rules §9)."""
    organisation = Partner.objects.create(
        code="acme", name="Acme Resellers", email="sales@acme.example", discount_percent=D("20")
    )
    partner_account_create(
        partner=organisation,
        name="Acme Resellers SAS",
        email="billing@acme.example",
        address_line1="2 quai des Chartrons",
        postal_code="33000",
        city="Bordeaux",
        country="FR",
        currency="EUR",
        registration_number="552 100 554",
        vat_number="FR70552100554",
    )
    return organisation


def example_6_1() -> Invoice:
    """billing-rules 6.1: 10 gateway seats sold by Acme for the bakery, the quarter invoiced on
    2026-01-01 to Acme: 108.00 net, VAT 21.60, 129.60."""
    bakery = partners.partner_customer(acme(), "Boulangerie Martin")
    partners.devices(bakery, "gateway", 10)
    partners.sell_seats(bakery, po_reference="PO-BM-2026-01")
    bill(JAN)
    return Invoice.objects.get(number="F2026-000001")


def example_6_2() -> Invoice:
    """billing-rules 6.2: 4 seats added on 2026-02-15, prorated: 21.60 net, VAT 4.32, 25.92."""
    invoice = example_6_1()
    services.seats_add(
        subscription=invoice.subscription,
        seat_type=SeatType.objects.get(code="gateway"),
        quantity=4,
        today=date(2026, 2, 15),
    )
    bill(date(2026, 2, 15))
    return Invoice.objects.get(number="F2026-000002")


def credit_note() -> Invoice:
    """The invoice of 6.1 cancelled by a credit note (BT-25 names it)."""
    invoice = example_6_1()
    return invoice_cancel_by_credit_note(
        invoice=invoice, reason="Wrong PO reference", day=date(2026, 1, 10)
    )


def reverse_charge() -> Invoice:
    """A German company with a valid VAT number: reverse charge (AE), no VAT."""
    customer = CustomerFactory(
        name="Muster GmbH",
        address_line1="Friedrichstraße 10",
        postal_code="10117",
        city="Berlin",
        country="DE",
        vat_number="DE136695976",
    )
    _subscribe(customer, "office-24m")
    return Invoice.objects.get(customer=customer)


def export_to_canada() -> Invoice:
    """A Canadian company, in CAD: outside the scope of EU VAT (O)."""
    customer = CustomerFactory(
        name="Maple Networks Inc.",
        address_line1="300 Bay Street",
        postal_code="M5H 2S8",
        city="Toronto",
        country="CA",
        currency="CAD",
    )
    _subscribe(customer, "hosting-a")
    return Invoice.objects.get(customer=customer)


def multi_rate() -> Invoice:
    """A French customer on a plan of three products: one at 20 %, one at 5.5 % and one exempt
    (E): three VAT breakdowns."""
    bundle = BundleFactory()
    rates = [
        TaxRateFactory(code="FR-VAT-20", rate=D("20.00")),
        TaxRateFactory(code="FR-VAT-5.5", name="TVA 5,5 %", rate=D("5.50")),
        TaxRateFactory(
            code="FR-EXEMPT",
            name="Exempt (training)",
            rate=D("0"),
            category="E",
            exemption_code="VATEX-EU-132",
            exemption_reason="Exonération de TVA, article 261-4-4° du CGI",
        ),
    ]
    for price, tax_rate in zip(("30.00", "12.00", "100.00"), rates, strict=True):
        BundleItemFactory(bundle=bundle, product__tax_rate=tax_rate, price_sheet__amount=D(price))
    plan = PlanFactory(bundles=[bundle], status=Plan.Status.ACTIVE)
    customer = CustomerFactory(name="Atelier Dupont", locale="fr")
    services.subscription_create(customer=customer, plan=plan, start_date=JAN, today=JAN)
    bill(JAN)
    return Invoice.objects.get(customer=customer)


def partner_billed() -> Invoice:
    """A partner's sale invoiced to a partner account known only by its name, address and email
    (no SIREN, no VAT number): the electronic address is the email (EM)."""
    organisation = partners.partner("nordic", "Nordic Devices", "15.00", "nora")
    customer = partners.partner_customer(organisation, "Fromagerie Durand")
    partners.devices(customer, "gateway", 5)
    partners.sell_seats(customer, seats=5, years=1, po_reference="ND-42")
    bill(JAN)
    return Invoice.objects.get(customer=organisation.account)


def without_seller_vat(invoice: Invoice) -> Invoice:
    """The invoice as if its seller had no VAT number (in memory: issued rows are immutable)."""
    invoice.seller = {**invoice.seller, "vat_number": ""}
    return invoice


def _subscribe(customer, plan_code: str) -> None:
    services.subscription_create(
        customer=customer, plan=Plan.objects.get(code=plan_code), start_date=JAN, today=JAN
    )
    bill(JAN)
