"""PLACEHOLDER (einvoice-pdf branch): a minimal CII (EN 16931 context) with the invoice's
number, dates, parties and totals, so that the Factur-X PDF and its doors can be built and
tested. Replaced at merge by the real `invoice_cii` (same signature)."""

from __future__ import annotations

from xml.sax.saxutils import escape

from billing.models import Invoice


def _amount(value) -> str:
    return f"{abs(value.amount):.2f}"


def invoice_cii(invoice: Invoice, payment_means=None) -> bytes:
    seller = (invoice.seller or {}).get("name") or "Seller"
    buyer = invoice.customer_name or (invoice.buyer or {}).get("name") or "Buyer"
    type_code = "381" if invoice.kind == Invoice.Kind.CREDIT_NOTE else "380"
    day = invoice.issue_date.strftime("%Y%m%d")
    currency = invoice.currency
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100" xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100" xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100">
<rsm:ExchangedDocumentContext><ram:GuidelineSpecifiedDocumentContextParameter><ram:ID>urn:cen.eu:en16931:2017</ram:ID></ram:GuidelineSpecifiedDocumentContextParameter></rsm:ExchangedDocumentContext>
<rsm:ExchangedDocument><ram:ID>{escape(invoice.number)}</ram:ID><ram:TypeCode>{type_code}</ram:TypeCode><ram:IssueDateTime><udt:DateTimeString format="102">{day}</udt:DateTimeString></ram:IssueDateTime></rsm:ExchangedDocument>
<rsm:SupplyChainTradeTransaction>
<ram:IncludedSupplyChainTradeLineItem><ram:AssociatedDocumentLineDocument><ram:LineID>1</ram:LineID></ram:AssociatedDocumentLineDocument><ram:SpecifiedTradeProduct><ram:Name>{escape(str(invoice))}</ram:Name></ram:SpecifiedTradeProduct><ram:SpecifiedLineTradeAgreement><ram:NetPriceProductTradePrice><ram:ChargeAmount>{_amount(invoice.net_total)}</ram:ChargeAmount></ram:NetPriceProductTradePrice></ram:SpecifiedLineTradeAgreement><ram:SpecifiedLineTradeDelivery><ram:BilledQuantity unitCode="C62">1</ram:BilledQuantity></ram:SpecifiedLineTradeDelivery><ram:SpecifiedLineTradeSettlement><ram:ApplicableTradeTax><ram:TypeCode>VAT</ram:TypeCode><ram:CategoryCode>S</ram:CategoryCode></ram:ApplicableTradeTax><ram:SpecifiedTradeSettlementLineMonetarySummation><ram:LineTotalAmount>{_amount(invoice.net_total)}</ram:LineTotalAmount></ram:SpecifiedTradeSettlementLineMonetarySummation></ram:SpecifiedLineTradeSettlement></ram:IncludedSupplyChainTradeLineItem>
<ram:ApplicableHeaderTradeAgreement><ram:SellerTradeParty><ram:Name>{escape(seller)}</ram:Name></ram:SellerTradeParty><ram:BuyerTradeParty><ram:Name>{escape(buyer)}</ram:Name></ram:BuyerTradeParty></ram:ApplicableHeaderTradeAgreement>
<ram:ApplicableHeaderTradeDelivery/>
<ram:ApplicableHeaderTradeSettlement><ram:InvoiceCurrencyCode>{currency}</ram:InvoiceCurrencyCode><ram:ApplicableTradeTax><ram:CalculatedAmount>{_amount(invoice.tax_total)}</ram:CalculatedAmount><ram:TypeCode>VAT</ram:TypeCode><ram:BasisAmount>{_amount(invoice.net_total)}</ram:BasisAmount><ram:CategoryCode>S</ram:CategoryCode></ram:ApplicableTradeTax><ram:SpecifiedTradeSettlementHeaderMonetarySummation><ram:LineTotalAmount>{_amount(invoice.net_total)}</ram:LineTotalAmount><ram:TaxBasisTotalAmount>{_amount(invoice.net_total)}</ram:TaxBasisTotalAmount><ram:TaxTotalAmount currencyID="{currency}">{_amount(invoice.tax_total)}</ram:TaxTotalAmount><ram:GrandTotalAmount>{_amount(invoice.total)}</ram:GrandTotalAmount><ram:DuePayableAmount>{_amount(invoice.total)}</ram:DuePayableAmount></ram:SpecifiedTradeSettlementHeaderMonetarySummation></ram:ApplicableHeaderTradeSettlement>
</rsm:SupplyChainTradeTransaction>
</rsm:CrossIndustryInvoice>
"""
    return xml.encode()
