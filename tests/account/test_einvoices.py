"""The customer's e-invoices in self-service: Factur-X, UBL and CII beside each PDF, through
the customer's own invoices only."""

from datetime import date

import pytest
from django.urls import reverse

from billing.models import Invoice
from tests.partners import builders
from tests.support.pages import text

pytestmark = pytest.mark.django_db


def test_the_customer_downloads_its_own_e_invoices_only(dupont_client, dupont, maple, on):
    builders.bill(date(2026, 11, 1))
    on(date(2026, 11, 2))
    own = Invoice.objects.filter(customer=dupont).order_by("-issue_date").first()
    others = Invoice.objects.get(customer=maple)

    page = text(dupont_client.get(reverse("account:invoices")))
    for file_format in ("facturx", "ubl", "cii"):
        assert reverse("account:invoice_einvoice", args=[own.pk, file_format]) in page

    pdf = dupont_client.get(reverse("account:invoice_einvoice", args=[own.pk, "facturx"]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert f'filename="{own.number}-factur-x.pdf"' in pdf["Content-Disposition"]
    ubl = dupont_client.get(reverse("account:invoice_einvoice", args=[own.pk, "ubl"]))
    assert ubl["Content-Type"] == "application/xml" and own.number.encode() in ubl.content

    assert (
        dupont_client.get(reverse("account:invoice_einvoice", args=[others.pk, "ubl"])).status_code
        == 404
    )
    assert (
        dupont_client.get(reverse("account:invoice_einvoice", args=[own.pk, "pdf"])).status_code
        == 404
    )
