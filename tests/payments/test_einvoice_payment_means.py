"""An e-invoice says how it is paid (EN 16931 BG-16): a mandate customer's invoice is a SEPA
direct debit with its mandate, a card customer's a card payment, anyone else's a transfer to
our IBAN with the invoice's RF reference — and each passes the official rules."""

from datetime import date

import pytest
from lxml import etree

from billing.einvoice import validation
from billing.einvoice.cii import NSMAP, invoice_cii
from billing.einvoice.common import payment_means_for
from billing.einvoice.ubl import invoice_ubl
from tests.payments.sepa_builders import invoice_for, mandate_for

pytestmark = pytest.mark.django_db


def test_a_mandate_a_transfer_and_their_e_invoices(demo_catalog):
    debited = invoice_for("Boulangerie Martin")
    mandate = mandate_for(debited.customer, signed=date(2025, 12, 15))
    transfer = invoice_for("Atelier Dupont")

    means = payment_means_for(debited)
    assert (means.code, means.mandate_reference, means.debtor_iban) == (
        "59",
        mandate.mandate_reference,
        mandate.iban,
    )
    other = payment_means_for(transfer)
    assert (other.code, other.payee_iban, other.remittance) == (
        "58",
        "FR7630006000011234567890189",
        transfer.payment_reference,
    )
    cii = invoice_cii(debited)
    tree = etree.fromstring(cii)
    assert tree.xpath(
        "//ram:SpecifiedTradeSettlementPaymentMeans/ram:TypeCode/text()", namespaces=NSMAP
    ) == ["59"]
    assert tree.xpath("//ram:DirectDebitMandateID/text()", namespaces=NSMAP) == [
        mandate.mandate_reference
    ]
    results = validation.validate(
        [("cii", cii), ("ubl", invoice_ubl(debited)), ("cii", invoice_cii(transfer))]
    )
    assert [(r.errors, r.warnings) for r in results] == [([], [])] * 3
