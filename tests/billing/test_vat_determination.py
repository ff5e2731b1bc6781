"""billing-rules §10: VAT follows the parties (seller's country, customer's country, a business
with a VAT number or not), with EN 16931 category codes; never a silent 0 %."""

from datetime import date
from decimal import Decimal
from io import BytesIO

import pytest
from django.core.exceptions import ValidationError
from pypdf import PdfReader

from billing import documents
from billing.models import Invoice
from billing.services import billing_run
from catalog.models import Plan, SeatType, SellerProfile, TaxRate, TaxRule
from core.errors import ApplicationError
from subscriptions import services
from subscriptions.models import Subscription
from tests.subscriptions.factories import CustomerFactory

pytestmark = pytest.mark.django_db
D = Decimal


def sell_108(customer):
    """billing-rules 6.1's subscription: one quarter of it is a net line of 108.00 EUR."""
    return services.subscription_create(
        customer=customer,
        plan=Plan.objects.get(code="device-seats"),
        start_date=date(2026, 1, 1),
        today=date(2026, 1, 1),
        seats={SeatType.objects.get(code="gateway"): 10},
        service_period_years=3,
        partner_discount_percent=D("20"),
    ).subscription


def invoice_of(subscription):
    return Invoice.objects.get(subscription=subscription, kind="invoice")


def test_example_10_1_the_same_line_to_four_buyers(demo_catalog):
    french = sell_108(CustomerFactory(country="FR", vat_number="FR40303265045"))
    german = sell_108(CustomerFactory(country="DE", vat_number="DE136695976", locale="fr"))
    belgian = sell_108(CustomerFactory(country="BE", name="Jan Peeters"))
    canadian = sell_108(CustomerFactory(country="CA", city="Toronto"))

    billing_run(day=date(2026, 1, 1))

    expected = {
        french: ("S", D("20.00"), D("21.60"), D("129.60")),
        german: ("AE", D("0.00"), D("0.00"), D("108.00")),
        belgian: ("S", D("21.00"), D("22.68"), D("130.68")),
        canadian: ("O", D("0.00"), D("0.00"), D("108.00")),
    }
    for subscription, (category, rate, tax, total) in expected.items():
        invoice = invoice_of(subscription)
        [line] = invoice.lines.all()
        [breakdown] = invoice.taxes.all()
        assert invoice.net_total.amount == D("108.00")
        assert (line.tax_category, line.tax_rate) == (category, rate)
        assert (breakdown.category, breakdown.rate, breakdown.tax.amount) == (category, rate, tax)
        assert invoice.total.amount == total
    # Reverse charge names itself, in the invoice's language, with the customer's VAT number.
    reverse = invoice_of(german)
    [breakdown] = reverse.taxes.all()
    assert breakdown.exemption_code == "VATEX-EU-AE"
    assert breakdown.exemption_reason.startswith("Autoliquidation")
    assert reverse.customer_vat_number == "DE136695976"
    assert reverse.buyer["vat_number"] == "DE136695976"
    [export] = invoice_of(canadian).taxes.all()
    assert export.exemption_code == "VATEX-EU-O" and export.exemption_reason


def test_the_seller_is_copied_on_each_invoice_at_issue(demo_catalog):
    subscription = sell_108(CustomerFactory())
    billing_run(day=date(2026, 1, 1))
    invoice = invoice_of(subscription)
    assert invoice.seller["vat_number"] == "FR44732829320"
    assert (invoice.seller["siren"], invoice.seller["country"]) == ("732829320", "FR")
    assert invoice.seller["iban"] == "FR7630006000011234567890189"


def test_a_consumer_of_a_country_without_a_rate_is_refused_and_nothing_is_sold(demo_catalog):
    italian = CustomerFactory(country="IT", name="Giulia Rossi")
    with pytest.raises(ApplicationError) as refusal:
        sell_108(italian)
    assert "IT" in refusal.value.message and "Tax rates" in refusal.value.message
    assert not Subscription.objects.filter(customer=italian).exists()


def test_the_run_leaves_due_what_it_cannot_tax_and_bills_it_once_fixed(demo_catalog):
    subscription = sell_108(CustomerFactory(country="FR"))
    # The customer moves to Italy before its first invoice is issued.
    subscription.customer.__class__.objects.filter(pk=subscription.customer_id).update(country="IT")
    Invoice.objects.filter(subscription=subscription, status="draft").delete()

    report = billing_run(day=date(2026, 1, 1))
    assert subscription.pk in report.refused
    assert "IT" in report.refused[subscription.pk]
    assert not Invoice.objects.filter(subscription=subscription).exists()

    TaxRate.objects.create(
        code="IT-22", name="IVA 22 %", rate=D("22"), country="IT", is_standard=True
    )
    report = billing_run(day=date(2026, 1, 2))
    assert report.refused == {}
    invoice = invoice_of(subscription)
    assert (invoice.tax_total.amount, invoice.total.amount) == (D("23.76"), D("131.76"))


def test_an_operator_rule_wins_over_the_built_in_one(demo_catalog):
    TaxRule.objects.create(
        seller_country="FR",
        customer_zone="non_eu",
        customer_country="CA",
        customer_kind="any",
        category="G",
        rate_source="none",
        exemption_code="VATEX-EU-G",
        mention_en="Export outside the EU",
    )
    canadian = sell_108(CustomerFactory(country="CA"))
    norwegian = sell_108(CustomerFactory(country="NO"))
    billing_run(day=date(2026, 1, 1))
    assert invoice_of(canadian).lines.get().tax_category == "G"
    assert invoice_of(canadian).taxes.get().exemption_reason == "Export outside the EU"
    assert invoice_of(norwegian).lines.get().tax_category == "O"


def test_an_exempt_product_is_exempt_with_its_reason(demo_catalog):
    exempt = TaxRate.objects.create(
        code="EXEMPT-TRAINING",
        name="Training, exempt",
        rate=D("0"),
        category="E",
        exemption_code="VATEX-EU-132-1I",
        exemption_reason="Exonération de TVA, article 261-4-4° du CGI",
    )
    plan = Plan.objects.get(code="device-seats")
    for bundle in plan.bundles.all():
        for item in bundle.items.exclude(product=None):
            item.product.tax_rate = exempt
            item.product.save()
    subscription = sell_108(CustomerFactory(country="FR"))
    billing_run(day=date(2026, 1, 1))
    invoice = invoice_of(subscription)
    line = invoice.lines.get()
    assert (line.tax_category, line.tax_rate, line.tax_exemption_code) == (
        "E",
        D("0.00"),
        "VATEX-EU-132-1I",
    )
    assert invoice.taxes.get().exemption_reason.startswith("Exonération")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"vat_number": "FR00123456789"}, "vat_number"),
        ({"vat_number": "DE123"}, "vat_number"),
        ({"registration_number": "123456789"}, "registration_number"),
        ({"registration_number": "73282932000001"}, "registration_number"),
    ],
)
def test_a_wrong_vat_number_or_siren_is_refused_by_name(fields, field):
    with pytest.raises(ValidationError) as refusal:
        services.customer_create(
            name="Wrong Numbers SARL",
            email="wrong@numbers.example",
            address_line1="1 rue A",
            postal_code="75001",
            city="Paris",
            country="FR",
            **fields,
        )
    assert list(refusal.value.message_dict) == [field]
    assert "valid" in refusal.value.message_dict[field][0]


def test_numbers_are_kept_compact():
    customer = services.customer_create(
        name="Right Numbers SARL",
        email="right@numbers.example",
        address_line1="1 rue A",
        postal_code="75001",
        city="Paris",
        country="FR",
        vat_number="fr 40 303 265 045",
        registration_number="303 265 045",
    )
    assert (customer.vat_number, customer.registration_number) == ("FR40303265045", "303265045")


def test_the_pdf_prints_the_parties_the_mention_and_the_french_legal_notes(demo_catalog):
    SellerProfile.objects.update(footer_fr="Merci de votre confiance.")
    german = sell_108(CustomerFactory(country="DE", vat_number="DE136695976", locale="fr"))
    billing_run(day=date(2026, 1, 1))
    invoice = invoice_of(german)
    data = documents.invoice_pdf(invoice)
    text = " ".join(
        " ".join(page.extract_text() for page in PdfReader(BytesIO(data)).pages)
        .replace("\u00a0", " ")
        .replace("\u202f", " ")
        .split()
    )
    assert "SIREN 732829320 RCS Paris" in text
    assert "SAS au capital de 10 000 €" in text
    assert "Autoliquidation" in text and "DE136695976" in text
    assert "40 €" in text and "escompte" in text and "pénalités" in text
    assert "Merci de votre confiance." in text


def test_a_rule_without_a_mention_still_says_why_there_is_no_vat(demo_catalog):
    # EN 16931 wants a reason (BT-120) for every category but S (BR-O-10…).
    TaxRule.objects.create(
        seller_country="FR",
        customer_zone="non_eu",
        customer_country="NO",
        customer_kind="any",
        category="O",
        rate_source="none",
    )
    norwegian = sell_108(CustomerFactory(country="NO", locale="fr"))
    billing_run(day=date(2026, 1, 1))
    assert invoice_of(norwegian).taxes.get().exemption_reason == "Non soumis à la TVA"
