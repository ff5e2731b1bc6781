"""PLACEHOLDER (einvoice-pdf branch): a minimal UBL 2.1 invoice or credit note with the
number, date, parties and totals. Replaced at merge by the real `invoice_ubl` (same
signature)."""

from __future__ import annotations

from xml.sax.saxutils import escape

from billing.models import Invoice


def invoice_ubl(invoice: Invoice, payment_means=None) -> bytes:
    root = "CreditNote" if invoice.kind == Invoice.Kind.CREDIT_NOTE else "Invoice"
    currency = invoice.currency
    seller = (invoice.seller or {}).get("name") or "Seller"
    buyer = invoice.customer_name or (invoice.buyer or {}).get("name") or "Buyer"
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<{root} xmlns="urn:oasis:names:specification:ubl:schema:xsd:{root}-2" xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2" xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
<cbc:CustomizationID>urn:cen.eu:en16931:2017</cbc:CustomizationID>
<cbc:ID>{escape(invoice.number)}</cbc:ID>
<cbc:IssueDate>{invoice.issue_date.isoformat()}</cbc:IssueDate>
<cbc:DocumentCurrencyCode>{currency}</cbc:DocumentCurrencyCode>
<cac:AccountingSupplierParty><cac:Party><cac:PartyLegalEntity><cbc:RegistrationName>{escape(seller)}</cbc:RegistrationName></cac:PartyLegalEntity></cac:Party></cac:AccountingSupplierParty>
<cac:AccountingCustomerParty><cac:Party><cac:PartyLegalEntity><cbc:RegistrationName>{escape(buyer)}</cbc:RegistrationName></cac:PartyLegalEntity></cac:Party></cac:AccountingCustomerParty>
<cac:LegalMonetaryTotal><cbc:TaxExclusiveAmount currencyID="{currency}">{abs(invoice.net_total.amount):.2f}</cbc:TaxExclusiveAmount><cbc:PayableAmount currencyID="{currency}">{abs(invoice.total.amount):.2f}</cbc:PayableAmount></cac:LegalMonetaryTotal>
</{root}>
"""
    return xml.encode()
