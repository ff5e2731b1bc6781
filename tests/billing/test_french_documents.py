"""A French customer's invoices and credit notes are in French from end to end — descriptions,
discount labels, the rules on the lines and every amount ("140,05 €") — whatever the language
of the person or page whose action issued them."""

from datetime import date
from io import BytesIO

import pytest
from django.urls import reverse
from django.utils import translation
from pypdf import PdfReader

from billing import documents
from billing.models import Invoice
from billing.services import billing_run, subscription_invoice_now
from catalog.models import Bundle
from tests.partners import builders
from tests.partners.builders import on  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db
NBSP = "\u00a0"


def pdf_text(invoice: Invoice) -> str:
    data = documents.invoice_pdf(invoice)
    return "\n".join(page.extract_text() for page in PdfReader(BytesIO(data)).pages)


def flat(text: str) -> str:
    """PDF text with its line breaks and no-break spaces as plain spaces (a line may wrap)."""
    return " ".join(text.replace(NBSP, " ").replace("\u202f", " ").split())


@pytest.fixture
def acme(demo_catalog):
    return builders.partner("acme", "Acme Resellers", "20", "paul")


def test_a_french_invoice_sold_in_english_labels_its_discounts_in_french(acme):
    # Given a French partner (its invoices are addressed to it, billing-rules §9) selling to its
    # customer from an English page (billing-rules example 6.1)
    acme.account.locale = "fr"
    acme.account.save(update_fields=["locale"])
    customer = builders.partner_customer(acme, "Boulangerie Martin", locale="fr")
    builders.devices(customer, "gateway", 10)
    with translation.override("en"):
        builders.sell_seats(customer, seats=10, years=3, start=date(2026, 1, 1))
        # when the first period is invoiced at once, from that English request
        [invoice] = subscription_invoice_now(
            subscription=customer.subscriptions.get(), day=date(2026, 1, 1)
        )
    # then the stored lines and the PDF are French
    line = invoice.lines.get()
    assert [d["label"] for d in line.discounts] == [
        "durée de service de 3 ans (−10 %)",
        "Remise partenaire (Acme Resellers) (−20 %)",
    ]
    assert line.rule == f"10 × 60,00{NBSP}€ / 1 an × 3/12"
    text = flat(pdf_text(invoice))
    assert "durée de service de 3 ans (−10 %): −15,00" in text
    assert "Remise partenaire (Acme Resellers) (−20 %): −27,00" in text
    assert "10 × 60,00 € / 1 an × 3/12" in text
    assert "Total à payer 129,60 €" in text  # 150.00 − 15.00 − 27.00 = 108.00, + 20 % VAT
    assert "EUR" not in text and "Partner discount" not in text


def test_an_english_invoice_keeps_the_english_labels_and_amounts(acme):
    customer = builders.partner_customer(acme, "Fjord Logistics", locale="en")
    builders.devices(customer, "gateway", 10)
    with translation.override("fr"):
        builders.sell_seats(customer, seats=10, years=3, start=date(2026, 1, 1))
        [invoice] = subscription_invoice_now(
            subscription=customer.subscriptions.get(), day=date(2026, 1, 1)
        )
    line = invoice.lines.get()
    assert [d["label"] for d in line.discounts] == [
        "3-year service period (−10 %)",
        "Partner discount (Acme Resellers) (−20 %)",
    ]
    text = flat(pdf_text(invoice))
    assert "10 × 60.00 EUR / 1 year × 3/12" in text
    assert "Total due 129.60 EUR" in text


@pytest.fixture
def dupont_fr(demo_catalog):
    """billing-rules example 4.2, for a customer who reads French."""
    customer = builders.self_service_customer(
        "Atelier Dupont", "denis", currency="EUR", country="FR", locale="fr"
    )
    builders.subscribe(customer, "office-24m", date(2026, 1, 1), po_reference="AD-2026-001")
    return customer


def test_the_penalty_asked_in_english_is_invoiced_and_credited_in_french(
    client,
    dupont_fr,
    on,  # noqa: F811 - the fixture
):
    subscription = dupont_fr.subscriptions.get()
    client.force_login(dupont_fr.users.get().user)
    on(date(2026, 10, 1))
    # Given a cancellation asked from the English self-service page
    cancel = reverse("account:cancel", args=[subscription.pk])
    done = client.post(cancel, HTTP_ACCEPT_LANGUAGE="en")
    assert done.status_code == 302
    page = client.get(done.url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "A penalty of 168.06 EUR is invoiced now." in page  # the asker's language
    # when billing invoices the penalty (in an English context, as a request would)
    with translation.override("en"):
        billing_run(day=date(2026, 10, 1), send_emails=False)
    penalty = Invoice.objects.get(lines__kind="penalty")
    line = penalty.lines.get()
    assert flat(line.description) == "Pénalité de résiliation anticipée (date d'effet : 2026-11-01)"
    assert flat(line.rule).startswith(
        "Pénalité de résiliation anticipée : 240,00 × 426 ÷ 730 = 140,05 € (jours de la date"
    )
    text = flat(pdf_text(penalty))
    assert "240,00 × 426 ÷ 730 = 140,05 €" in text
    assert "Total à payer 168,06 €" in text and "EUR" not in text

    # Given the cancellation undone from the English page, the credit note is French too
    client.post(reverse("account:undo_cancellation", args=[subscription.pk]))
    with translation.override("en"):
        billing_run(day=date(2026, 10, 1), send_emails=False)
    credit = Invoice.objects.get(kind=Invoice.Kind.CREDIT_NOTE)
    assert credit.note.startswith("Ces montants ne sont plus dus")
    text = flat(pdf_text(credit))
    assert "Avoir" in text and "Crédit : Pénalité de résiliation anticipée" in text
    assert "Total crédité 168,06 €" in text
    assert "240,00 × 426 ÷ 730 = 140,05 €" in text


def test_a_coupon_redeemed_in_english_is_labelled_in_french_on_the_invoice(
    client,
    dupont_fr,
    on,  # noqa: F811 - the fixture
):
    backup = builders.subscribe(
        dupont_fr,
        "cloud-backup-monthly",
        date(2026, 11, 10),
        addons={Bundle.objects.get(code="service-plus-eur").pk: 1},
    )
    builders.bill(date(2026, 11, 24))
    client.force_login(dupont_fr.users.get().user)
    on(date(2026, 11, 25))
    redeemed = client.post(  # confirmed after its preview
        reverse("account:coupon_confirm", args=[backup.pk]),
        {"code": "coupon_87"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert redeemed.status_code == 302
    with translation.override("en"):
        builders.bill(date(2026, 12, 24))
    invoice = Invoice.objects.get(subscription=backup, period_start=date(2026, 12, 24))
    labels = [d["label"] for line in invoice.lines.all() for d in line.discounts]
    assert "20 % sur le service supplémentaire (−20 %)" in labels
    assert "20 % sur le service supplémentaire (−20 %): −2,00" in flat(pdf_text(invoice))
