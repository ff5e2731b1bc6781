"""The CII and UBL of every kind of issued document pass the official EN 16931 and French
(BR-FR) Schematrons and XSDs without an error or a warning, and say what the stored invoice
says. All the documents are validated in one child process (the Schematrons are slow to
compile): see billing/einvoice/validation.py."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from lxml import etree

from billing.einvoice import validation
from billing.einvoice.cii import NSMAP as CII
from billing.einvoice.cii import invoice_cii
from billing.einvoice.common import PaymentMeans
from billing.einvoice.ubl import CAC, CBC, invoice_ubl
from tests.billing.einvoice import builders

pytestmark = pytest.mark.django_db
D = Decimal
UBL = {"cac": CAC, "cbc": CBC}


@pytest.fixture
def cases(demo_catalog):
    return builders.cases()


def texts(xml: bytes, path: str, namespaces=CII) -> list[str]:
    return [e.text for e in etree.fromstring(xml).xpath(path, namespaces=namespaces)]


def test_every_case_passes_the_official_rules_in_cii_and_ubl(cases):
    documents = [
        (name, syntax, build(invoice))
        for name, invoice in cases.items()
        for syntax, build in (("cii", invoice_cii), ("ubl", invoice_ubl))
    ]
    # A direct debit too, on the multi-rate invoice (BT-89 mandate, BT-91 debtor's IBAN).
    debit = PaymentMeans(
        code="59",
        mandate_reference="MANDATE-42",
        creditor_id="FR12ZZZ123456",
        debtor_iban="FR7630006000011234567890189",
    )
    for syntax, build in (("cii", invoice_cii), ("ubl", invoice_ubl)):
        documents.append(("direct debit", syntax, build(cases["multi-rate"], debit)))

    results = validation.validate([(syntax, xml) for _name, syntax, xml in documents])

    findings = {
        f"{name} {syntax}": [str(f) for f in (*result.errors, *result.warnings)]
        for (name, syntax, _xml), result in zip(documents, results, strict=True)
    }
    assert findings == {key: [] for key in findings}


def test_a_seller_without_vat_number_is_caught(cases):
    invoice = builders.without_seller_vat(cases["6.1"])

    cii, ubl = validation.validate([("cii", invoice_cii(invoice)), ("ubl", invoice_ubl(invoice))])

    assert "BR-S-02" in {f.rule for f in cii.errors}
    assert "BR-S-02" in {f.rule for f in ubl.errors}
    assert not cii.ok and not ubl.ok


def test_example_6_1_figures_in_the_cii(cases):
    invoice = cases["6.1"]
    xml = invoice_cii(invoice)
    summation = "//ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:"
    assert texts(xml, "//rsm:ExchangedDocument/ram:ID") == [invoice.number]
    assert texts(xml, "//rsm:ExchangedDocument/ram:TypeCode") == ["380"]
    assert texts(xml, summation + "LineTotalAmount") == ["108.00"]
    assert texts(xml, summation + "TaxTotalAmount") == ["21.60"]
    assert texts(xml, summation + "GrandTotalAmount") == ["129.60"]
    assert texts(xml, summation + "DuePayableAmount") == ["129.60"]
    # 10 × 15.00 − 15.00 − 27.00 (the stored discounts, as line allowances) = 108.00
    assert texts(xml, "//ram:BilledQuantity") == ["10"]
    assert texts(xml, "//ram:NetPriceProductTradePrice/ram:ChargeAmount") == ["15.00"]
    assert texts(xml, "//ram:SpecifiedTradeAllowanceCharge/ram:ActualAmount") == [
        "15.00",
        "27.00",
    ]
    # Billed to the partner's account (its SIREN and VAT number), for its customer
    buyer = "//ram:BuyerTradeParty/"
    assert texts(xml, buyer + "ram:Name") == ["Acme Resellers SAS"]
    assert texts(xml, buyer + "ram:SpecifiedLegalOrganization/ram:ID") == ["552100554"]
    assert texts(xml, buyer + "ram:SpecifiedTaxRegistration/ram:ID") == ["FR96552100554"]
    assert texts(xml, buyer + "ram:URIUniversalCommunication/ram:URIID") == ["552100554"]
    assert texts(xml, "//ram:ShipToTradeParty/ram:Name") == ["Boulangerie Martin"]
    assert texts(xml, "//ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID") == [
        "PO-BM-2026-01"
    ]
    # Paid by transfer to the seller's IBAN, quoting the RF reference
    assert texts(xml, "//ram:PaymentReference") == [invoice.payment_reference]
    assert texts(xml, "//ram:SpecifiedTradeSettlementPaymentMeans/ram:TypeCode") == ["58"]
    assert texts(xml, "//ram:IncludedNote/ram:SubjectCode") == ["PMD", "PMT", "AAB"]
    assert texts(xml, "//ram:BusinessProcessSpecifiedDocumentContextParameter/ram:ID") == ["S1"]


def test_example_6_2_and_its_credit_note_in_the_ubl(cases):
    invoice, credit = cases["6.2"], cases["credit note"]
    xml = invoice_ubl(invoice)
    assert texts(xml, "/*/cac:LegalMonetaryTotal/cbc:TaxExclusiveAmount", UBL) == ["21.60"]
    assert texts(xml, "/*/cac:TaxTotal/cbc:TaxAmount", UBL) == ["4.32"]
    assert texts(xml, "/*/cac:LegalMonetaryTotal/cbc:PayableAmount", UBL) == ["25.92"]
    assert texts(xml, "//cac:InvoiceLine/cbc:LineExtensionAmount", UBL) == ["21.60"]

    xml = invoice_ubl(credit)
    assert etree.QName(etree.fromstring(xml)).localname == "CreditNote"
    assert texts(xml, "/*/cbc:CreditNoteTypeCode", UBL) == ["381"]
    assert texts(xml, "//cac:InvoiceDocumentReference/cbc:ID", UBL) == [invoice.number]
    assert texts(xml, "/*/cac:LegalMonetaryTotal/cbc:PayableAmount", UBL) == ["25.92"]
    cii = invoice_cii(credit)
    assert texts(cii, "//ram:InvoiceReferencedDocument/ram:IssuerAssignedID") == [invoice.number]
    assert texts(cii, "//rsm:ExchangedDocument/ram:TypeCode") == ["381"]


def test_tax_per_category_and_rate(cases):
    invoice = cases["multi-rate"]
    xml = invoice_cii(invoice)
    breakdown = etree.fromstring(xml).xpath(
        "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax", namespaces=CII
    )
    found = [
        (
            b.findtext("ram:CategoryCode", namespaces=CII),
            b.findtext("ram:RateApplicablePercent", namespaces=CII),
            b.findtext("ram:BasisAmount", namespaces=CII),
            b.findtext("ram:CalculatedAmount", namespaces=CII),
        )
        for b in breakdown
    ]
    stored = [
        (t.category, f"{t.rate:.2f}", f"{t.base.amount:.2f}", f"{t.tax.amount:.2f}")
        for t in invoice.taxes.order_by("rate", "category")
    ]
    assert sorted(found) == sorted(stored)
    assert sorted(found) == [
        ("E", "0.00", "100.00", "0.00"),
        ("S", "20.00", "30.00", "6.00"),
        ("S", "5.50", "12.00", "0.66"),
    ]
    assert texts(xml, "//ram:ExemptionReasonCode") == ["VATEX-EU-132"]


def test_reverse_charge_and_export(cases):
    reverse = invoice_cii(cases["reverse charge"])
    assert set(texts(reverse, "//ram:CategoryCode")) == {"AE"}
    assert texts(reverse, "//ram:BuyerTradeParty/ram:SpecifiedTaxRegistration/ram:ID") == [
        "DE136695976"
    ]
    assert texts(reverse, "//ram:ExemptionReasonCode") == ["VATEX-EU-AE"]

    export = invoice_cii(cases["export"])
    assert set(texts(export, "//ram:CategoryCode")) == {"O"}
    assert texts(export, "//ram:InvoiceCurrencyCode") == ["CAD"]
    # The VAT in euros the French rules ask of an invoice in another currency: none.
    assert texts(export, "//ram:TaxCurrencyCode") == ["EUR"]
    assert texts(export, "//ram:TaxTotalAmount[@currencyID='EUR']") == ["0.00"]
    # Outside the scope of VAT, EN 16931 (BR-O-02) allows no VAT identifier
    assert texts(export, "//ram:SpecifiedTaxRegistration/ram:ID") == []
    total = cases["export"].total.amount
    assert texts(export, "//ram:GrandTotalAmount") == [f"{total:.2f}"]


def test_the_command_prints_the_findings(cases):
    out = io.StringIO()
    number = cases["6.1"].number
    call_command("einvoice_validate", number, stdout=out)
    assert out.getvalue().splitlines() == [
        f"{number} CII: 0 error(s), 0 warning(s)",
        f"{number} UBL: 0 error(s), 0 warning(s)",
    ]
    with pytest.raises(CommandError, match="No issued document numbered F1999-000001"):
        call_command("einvoice_validate", "F1999-000001")
