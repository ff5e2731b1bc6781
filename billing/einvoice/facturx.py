"""The Factur-X PDF (EN 16931 profile): the invoice PDF rendered as PDF/A-3b by WeasyPrint
(fonts embedded, sRGB output intent), with the CII XML embedded as `factur-x.xml` and the
Factur-X XMP metadata written by the `factur-x` library.

Never calls the network: the library's schematron check posts the XML to a Saxon server, so
it stays off here (the EN 16931 rules are checked by billing/einvoice/validation.py, locally);
the XSD check is local (the schemas ship with the library) and refuses a malformed CII
before anything is stored.
"""

from __future__ import annotations

from django.conf import settings
from django.utils import translation

from billing.documents import document_title, invoice_html
from billing.models import Invoice

PDF_VARIANT = "pdf/a-3b"


def render_pdfa(invoice: Invoice) -> bytes:
    """The invoice PDF as PDF/A-3b (every font embedded, as PDF/A requires)."""
    # Heavy (pango, cairo, fonts): loaded when a PDF is made, not by every process that
    # imports billing (as billing.documents.invoice_pdf).
    import weasyprint  # noqa: PLC0415

    return weasyprint.HTML(string=invoice_html(invoice), base_url=str(settings.BASE_DIR)).write_pdf(
        pdf_variant=PDF_VARIANT
    )


def embed_cii(invoice: Invoice, pdf: bytes, cii_xml: bytes) -> bytes:
    """Attach the CII to a PDF/A-3 and write the Factur-X XMP (level EN 16931)."""
    import facturx  # noqa: PLC0415 - heavy (pypdf, lxml schemas), only where PDFs are made

    with translation.override(invoice.language):  # the PDF's title in the document's language
        title = f"{document_title(invoice)} {invoice.number}"
    return facturx.generate_from_binary(
        pdf,
        cii_xml,
        flavor="factur-x",
        level="en16931",
        check_xsd=True,
        # The schematron check needs a Saxon server (remote by default): never from here.
        check_schematron=False,
        pdf_metadata={
            "author": (invoice.seller or {}).get("name") or settings.SELLER_NAME,
            "keywords": "Factur-X",
            "title": title,
            "subject": title,
        },
        lang=invoice.language or settings.LANGUAGE_CODE,
    )


def facturx_pdf(invoice: Invoice, cii_xml: bytes) -> bytes:
    """The Factur-X PDF of an issued document, embedding `cii_xml` (its CII)."""
    return embed_cii(invoice, render_pdfa(invoice), cii_xml)
