"""The Factur-X PDF: a PDF/A-3b with its fonts embedded, the CII embedded as factur-x.xml
(the very bytes stored) and the Factur-X XMP metadata at the EN 16931 level."""

import io
from datetime import date

import pytest
from pypdf import PdfReader

from billing.einvoice.cii import invoice_cii
from billing.einvoice.facturx import facturx_pdf
from billing.services import invoice_issue
from tests.billing.builders import manual_draft

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
