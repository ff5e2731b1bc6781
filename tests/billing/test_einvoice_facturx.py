"""The Factur-X PDF: a PDF/A-3b with its fonts embedded, the CII embedded as factur-x.xml
(the very bytes stored) and the Factur-X XMP metadata at the EN 16931 level."""

import io
from datetime import date
from decimal import Decimal

import pytest
from lxml import etree
from pypdf import PdfReader

from billing.einvoice.cii import NSMAP, invoice_cii
from billing.einvoice.facturx import facturx_pdf
from billing.models import Invoice
from billing.services import billing_run, einvoice_generate, invoice_issue
from catalog.models import Plan, SeatType
from subscriptions import services
from tests.billing.builders import manual_draft
from tests.subscriptions.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def issued():
    return invoice_issue(invoice=manual_draft(), day=date(2026, 3, 2))


def _fonts(reader: PdfReader) -> list:
    fonts = []
    for page in reader.pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            font = font.get_object()
            for descendant in font.get("/DescendantFonts", [font]):
                fonts.append(descendant.get_object())
    return fonts


def test_the_pdf_embeds_the_stored_cii_and_declares_factur_x_en16931(issued):
    cii = invoice_cii(issued)
    reader = PdfReader(io.BytesIO(facturx_pdf(issued, cii)))

    attachments = reader.attachments
    assert list(attachments) == ["factur-x.xml"]
    assert attachments["factur-x.xml"][0] == cii
    assert issued.number.encode() in cii
    xmp = reader.xmp_metadata.stream.get_data().decode()
    assert "<fx:ConformanceLevel>EN 16931</fx:ConformanceLevel>" in xmp
    assert "<fx:DocumentFileName>factur-x.xml</fx:DocumentFileName>" in xmp
    assert "<pdfaid:part>3</pdfaid:part>" in xmp
    assert "<pdfaid:conformance>B</pdfaid:conformance>" in xmp


def test_every_font_is_embedded_and_there_is_an_output_intent(issued):
    reader = PdfReader(io.BytesIO(facturx_pdf(issued, invoice_cii(issued))))

    fonts = _fonts(reader)
    assert fonts
    for font in fonts:
        descriptor = font["/FontDescriptor"].get_object()
        assert {"/FontFile", "/FontFile2", "/FontFile3"} & set(descriptor), font["/BaseFont"]
    assert reader.trailer["/Root"]["/OutputIntents"]


def test_the_embedded_xml_says_what_the_invoice_says(demo_catalog):
    # Given billing-rules 6.1's quarter, issued by the run and its e-invoice made after issue
    subscription = services.subscription_create(
        customer=CustomerFactory(name="Boulangerie Martin", vat_number="FR40303265045"),
        plan=Plan.objects.get(code="device-seats"),
        start_date=date(2026, 1, 1),
        today=date(2026, 1, 1),
        seats={SeatType.objects.get(code="gateway"): 10},
        service_period_years=3,
        partner_discount_percent=Decimal("20"),
        po_reference="PO-BM-2026-01",
    ).subscription
    billing_run(day=date(2026, 1, 1), send_emails=False)
    invoice = Invoice.objects.get(subscription=subscription)
    stored = einvoice_generate(invoice=invoice)

    # When the PDF is opened and its XML read
    [xml] = PdfReader(io.BytesIO(bytes(stored.facturx_pdf))).attachments["factur-x.xml"]
    assert xml == bytes(stored.cii_xml)
    tree = etree.fromstring(xml)

    def one(path: str) -> str:
        [value] = tree.xpath(path, namespaces=NSMAP)
        return value

    # Then its figures are the invoice's, to the cent
    summation = "//ram:SpecifiedTradeSettlementHeaderMonetarySummation"
    assert one("//rsm:ExchangedDocument/ram:ID/text()") == invoice.number == "F2026-000001"
    assert one(f"{summation}/ram:LineTotalAmount/text()") == "108.00"
    assert one(f"{summation}/ram:TaxBasisTotalAmount/text()") == "108.00"
    assert one(f"{summation}/ram:TaxTotalAmount/text()") == "21.60"
    assert one(f"{summation}/ram:GrandTotalAmount/text()") == "129.60"
    assert one(f"{summation}/ram:DuePayableAmount/text()") == "129.60"
    tax = "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax"
    assert (
        one(f"{tax}/ram:CategoryCode/text()"),
        one(f"{tax}/ram:RateApplicablePercent/text()"),
        one(f"{tax}/ram:CalculatedAmount/text()"),
    ) == ("S", "20.00", "21.60")
    assert one("//ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID/text()") == (
        "PO-BM-2026-01"
    )
    assert one("//ram:SellerTradeParty/ram:SpecifiedTaxRegistration/ram:ID/text()") == (
        "FR44732829320"
    )
