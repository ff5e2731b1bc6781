"""A customer downloads an invoice's e-invoices from the self-service invoice list, in Chromium:
the Factur-X PDF carries the CII of that very invoice, the UBL names it too."""

import io
from pathlib import Path

import pytest
from lxml import etree
from pypdf import PdfReader

from billing.models import Invoice
from tests.browser.conftest import business_day, load_demo

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_customer_downloads_the_factur_x_and_the_ubl_of_an_invoice(page, log_in, shoot):
    with business_day(2026, 11, 21):
        # Given Maple Hosting (Toronto, an export: no VAT) and its latest invoice
        load_demo()
        invoice = (
            Invoice.objects.filter(customer__name="Maple Hosting Co.", kind="invoice")
            .order_by("-issue_date", "-id")
            .first()
        )
        log_in(page, "customer")
        page.get_by_role("link", name="Invoices").click()
        shoot(page, "invoices")
        links = page.get_by_label(f"E-invoice {invoice.number}")

        # When she downloads its Factur-X PDF and its UBL
        with page.expect_download() as pdf_download:
            links.get_by_role("link", name="Factur-X").click()
        with page.expect_download() as ubl_download:
            links.get_by_role("link", name="UBL").click()

        # Then the PDF embeds the invoice's CII, which says it is not subject to VAT (O)
        pdf = Path(pdf_download.value.path()).read_bytes()
        assert pdf.startswith(b"%PDF-")
        assert pdf_download.value.suggested_filename.endswith(".pdf")
        [xml] = PdfReader(io.BytesIO(pdf)).attachments["factur-x.xml"]
        cii = etree.fromstring(xml)
        ram = {
            "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
        }
        assert cii.xpath(
            "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax/ram:CategoryCode/text()",
            namespaces=ram,
        ) == ["O"]
        assert invoice.number.encode() in xml
        # and the UBL is an Invoice with that number
        ubl = etree.fromstring(Path(ubl_download.value.path()).read_bytes())
        assert etree.QName(ubl).localname == "Invoice"
        assert invoice.number in ubl.itertext()
