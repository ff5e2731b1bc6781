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
        vat_number="FR96552100554",
    )
    return organisation


def cases() -> dict[str, Invoice]:
    """Every case, issued in one database (one billing run bills them all on 2026-01-01):
    - "6.1": billing-rules 6.1, 10 gateway seats sold by Acme for the bakery, the quarter
      invoiced to Acme: 108.00 net, VAT 21.60, 129.60;
    - "6.2": billing-rules 6.2, 4 seats added on 2026-02-15, prorated: 21.60, 4.32, 25.92;
    - "credit note": the 6.2 invoice cancelled by a credit note (BT-25 names it);
    - "reverse charge": a German company with a valid VAT number (AE);
    - "export": a Canadian company, in CAD (O);
    - "multi-rate": a French customer of a 20 %, a 5.5 % and an exempt (E) product;
    - "partner": a partner's sale invoiced to an account known only by its name, address and
      email (no SIREN, no VAT number: its electronic address is the email, EM).
    """
    bakery = partners.partner_customer(acme(), "Boulangerie Martin")
    partners.devices(bakery, "gateway", 10)
    seats = partners.sell_seats(bakery, po_reference="PO-BM-2026-01")
    german = CustomerFactory(
        name="Muster GmbH",
        address_line1="Friedrichstraße 10",
        postal_code="10117",
        city="Berlin",
        country="DE",
        vat_number="DE136695976",
    )
    _subscribe(german, Plan.objects.get(code="office-24m"))
    canadian = CustomerFactory(
        name="Maple Networks Inc.",
        address_line1="300 Bay Street",
        postal_code="M5H 2S8",
        city="Toronto",
        country="CA",
        currency="CAD",
    )
    _subscribe(canadian, Plan.objects.get(code="hosting-a"))
    french = CustomerFactory(name="Atelier Dupont", locale="fr")
    _subscribe(french, _multi_rate_plan())
    nordic = partners.partner("nordic", "Nordic Devices", "15.00", "nora")
    cheese = partners.partner_customer(nordic, "Fromagerie Durand")
    partners.devices(cheese, "gateway", 5)
    partners.sell_seats(cheese, seats=5, years=1, po_reference="ND-42")
    bill(JAN)

    services.seats_add(
        subscription=seats,
        seat_type=SeatType.objects.get(code="gateway"),
        quantity=4,
        today=date(2026, 2, 15),
    )
    bill(date(2026, 2, 15))
    invoices = Invoice.objects.filter(kind=Invoice.Kind.INVOICE)
    added = invoices.get(subscription=seats, issue_date=date(2026, 2, 15))
    credit = invoice_cancel_by_credit_note(
        invoice=added, reason="Wrong PO reference", day=date(2026, 2, 20)
    )
    return {
        "6.1": invoices.get(subscription=seats, issue_date=JAN),
        "6.2": Invoice.objects.get(pk=added.pk),
        "credit note": credit,
        "reverse charge": invoices.get(customer=german, issue_date=JAN),
        "export": invoices.get(customer=canadian, issue_date=JAN),
        "multi-rate": invoices.get(customer=french, issue_date=JAN),
        "partner": invoices.get(customer=nordic.account, issue_date=JAN),
    }


def _multi_rate_plan() -> Plan:
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
    return PlanFactory(bundles=[bundle], status=Plan.Status.ACTIVE)


def without_seller_vat(invoice: Invoice) -> Invoice:
    """The invoice as if its seller had no VAT number (in memory: issued rows are immutable)."""
    invoice.seller = {**invoice.seller, "vat_number": ""}
    return invoice


def _subscribe(customer, plan: Plan) -> None:
    services.subscription_create(customer=customer, plan=plan, start_date=JAN, today=JAN)
