"""The partner's e-invoices in its portal: Factur-X, UBL and CII beside each PDF, through the
partner's own invoices only."""

from datetime import date

import pytest
from django.urls import reverse

from billing.models import EInvoice, Invoice
from tests.partners import builders
from tests.support.pages import text

pytestmark = pytest.mark.django_db


def test_the_partner_downloads_its_own_e_invoices_only(partner_client, bakery, nordic, on):
    subscription = builders.sell_seats(bakery)
    other = builders.partner_customer(nordic, "Fjord Logistics", country="NO")
    builders.sell_seats(other, years=1)
    builders.bill(date(2026, 1, 1))
    on(date(2026, 1, 2))
    invoice = Invoice.objects.get(subscription=subscription)
    other_invoice = Invoice.objects.get(end_customer=other)

    page = text(partner_client.get(reverse("partners:invoices")))
    for file_format in ("facturx", "ubl", "cii"):
        assert reverse("partners:invoice_einvoice", args=[invoice.pk, file_format]) in page

    cii = partner_client.get(reverse("partners:invoice_einvoice", args=[invoice.pk, "cii"]))
    assert cii.status_code == 200 and cii["Content-Type"] == "application/xml"
    assert cii.content == bytes(EInvoice.objects.get(invoice=invoice).cii_xml)
    assert f'filename="{invoice.number}-cii.xml"' in cii["Content-Disposition"]

    refused = partner_client.get(
        reverse("partners:invoice_einvoice", args=[other_invoice.pk, "cii"])
    )
    assert refused.status_code == 404
    assert not EInvoice.objects.filter(invoice=other_invoice).exists()
