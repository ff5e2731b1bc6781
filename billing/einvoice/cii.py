"""The UN/CEFACT Cross Industry Invoice (CII D16B) of an issued invoice or credit note, at the
Factur-X EN 16931 profile: the XML a Factur-X PDF embeds and a French platform accepts.

`invoice_cii(invoice, payment_means=None) -> bytes`, built only from the stored rows (see
billing/einvoice/common.py). The element order is the XSD's (facturx-en16931), which lxml does
not check: the validation does (billing/einvoice/validation.py).
"""

from __future__ import annotations

from lxml import etree

from billing.einvoice import common
from billing.einvoice.common import PaymentMeans, payment_means_for
from billing.models import Invoice

RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
QDT = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
NSMAP = {"rsm": RSM, "ram": RAM, "qdt": QDT, "udt": UDT}


def _el(parent, tag: str, text: str | None = None, **attributes: str):
    prefix, name = tag.split(":")
    element = etree.SubElement(parent, f"{{{NSMAP[prefix]}}}{name}", attributes)
    if text is not None:
        element.text = text
    return element


def _date(parent, tag: str, day, kind: str = "udt") -> None:
    _el(_el(parent, tag), f"{kind}:DateTimeString", common.compact_date(day), format="102")


def _amount(parent, tag: str, value, currency: str | None = None) -> None:
    attributes = {"currencyID": currency} if currency else {}
    _el(parent, tag, common.amount(value), **attributes)


def invoice_cii(invoice: Invoice, payment_means: PaymentMeans | None = None) -> bytes:
    means = payment_means if payment_means is not None else payment_means_for(invoice)
    root = etree.Element(f"{{{RSM}}}CrossIndustryInvoice", nsmap=NSMAP)

    context = _el(root, "rsm:ExchangedDocumentContext")
    framework = (invoice.seller or {}).get("invoicing_framework", "")
    if framework:
        _el(
            _el(context, "ram:BusinessProcessSpecifiedDocumentContextParameter"),
            "ram:ID",
            framework,
        )
    _el(_el(context, "ram:GuidelineSpecifiedDocumentContextParameter"), "ram:ID", common.EN16931)

    document = _el(root, "rsm:ExchangedDocument")
    _el(document, "ram:ID", invoice.number)
    _el(document, "ram:TypeCode", common.type_code(invoice))
    _date(document, "ram:IssueDateTime", invoice.issue_date)
    for subject, text in common.notes(invoice):
        note = _el(document, "ram:IncludedNote")
        _el(note, "ram:Content", text)
        _el(note, "ram:SubjectCode", subject)

    transaction = _el(root, "rsm:SupplyChainTradeTransaction")
    for index, line in enumerate(common.lines_of(invoice), start=1):
        _line(transaction, index, line, invoice.currency)
    _agreement(transaction, invoice)
    delivery = _el(transaction, "ram:ApplicableHeaderTradeDelivery")
    _el(_el(delivery, "ram:ShipToTradeParty"), "ram:Name", common.deliver_to_name(invoice))
    _settlement(transaction, invoice, means)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _line(transaction, index: int, line, currency: str) -> None:
    item = _el(transaction, "ram:IncludedSupplyChainTradeLineItem")
    _el(_el(item, "ram:AssociatedDocumentLineDocument"), "ram:LineID", str(index))
    _el(_el(item, "ram:SpecifiedTradeProduct"), "ram:Name", line.description)
    written = common.LinePrice.of(line)
    agreement = _el(item, "ram:SpecifiedLineTradeAgreement")
    net_price = _el(agreement, "ram:NetPriceProductTradePrice")
    _el(net_price, "ram:ChargeAmount", common.price(written.price))
    if written.base_quantity is not None:
        _el(
            net_price,
            "ram:BasisQuantity",
            common.quantity(written.base_quantity),
            unitCode=common.UNIT_CODE,
        )
    delivery = _el(item, "ram:SpecifiedLineTradeDelivery")
    _el(
        delivery, "ram:BilledQuantity", common.quantity(written.quantity), unitCode=common.UNIT_CODE
    )
    settlement = _el(item, "ram:SpecifiedLineTradeSettlement")
    tax = _el(settlement, "ram:ApplicableTradeTax")
    _el(tax, "ram:TypeCode", "VAT")
    _el(tax, "ram:CategoryCode", line.tax_category)
    if line.tax_category != "O":  # BR-O-05: no rate outside the scope of VAT
        _el(tax, "ram:RateApplicablePercent", common.rate(line.tax_rate))
    if line.period_start and line.period_end:
        period = _el(settlement, "ram:BillingSpecifiedPeriod")
        _date(period, "ram:StartDateTime", line.period_start)
        _date(period, "ram:EndDateTime", common.last_day(line.period_start, line.period_end))
    for label, value in written.allowances:
        allowance = _el(settlement, "ram:SpecifiedTradeAllowanceCharge")
        _el(_el(allowance, "ram:ChargeIndicator"), "udt:Indicator", "false")
        _amount(allowance, "ram:ActualAmount", value)
        _el(allowance, "ram:ReasonCode", "95")  # UNTDID 5189: discount
        _el(allowance, "ram:Reason", label or "Discount")
    summation = _el(settlement, "ram:SpecifiedTradeSettlementLineMonetarySummation")
    _amount(summation, "ram:LineTotalAmount", line.net)


def _party(parent, tag: str, party: dict, *, vat_number: str, seller: bool) -> None:
    element = _el(parent, tag)
    if seller and party.get("siret"):
        _el(element, "ram:GlobalID", party["siret"], schemeID=common.SIRET_SCHEME)
    _el(element, "ram:Name", party.get("name", ""))
    siren = party.get("siren", "")
    trade_name = party.get("trade_name", "") if seller else ""
    if siren or trade_name:
        organisation = _el(element, "ram:SpecifiedLegalOrganization")
        if siren:
            _el(organisation, "ram:ID", siren, schemeID=common.LEGAL_REGISTRATION_SCHEME)
        if trade_name:
            _el(organisation, "ram:TradingBusinessName", trade_name)
    address = _el(element, "ram:PostalTradeAddress")
    if party.get("postal_code"):
        _el(address, "ram:PostcodeCode", party["postal_code"])
    if party.get("line1"):
        _el(address, "ram:LineOne", party["line1"])
    if party.get("line2"):
        _el(address, "ram:LineTwo", party["line2"])
    if party.get("city"):
        _el(address, "ram:CityName", party["city"])
    _el(address, "ram:CountryID", party.get("country", ""))
    if party.get("electronic_address"):
        _el(
            _el(element, "ram:URIUniversalCommunication"),
            "ram:URIID",
            party["electronic_address"],
            schemeID=party.get("electronic_address_scheme", ""),
        )
    if vat_number:
        _el(_el(element, "ram:SpecifiedTaxRegistration"), "ram:ID", vat_number, schemeID="VA")


def _agreement(transaction, invoice: Invoice) -> None:
    agreement = _el(transaction, "ram:ApplicableHeaderTradeAgreement")
    if invoice.po_reference:
        _el(agreement, "ram:BuyerReference", invoice.po_reference)
    _party(
        agreement,
        "ram:SellerTradeParty",
        invoice.seller or {},
        vat_number=common.seller_vat_number(invoice),
        seller=True,
    )
    _party(
        agreement,
        "ram:BuyerTradeParty",
        invoice.buyer or {},
        vat_number=common.buyer_vat_number(invoice),
        seller=False,
    )
    if invoice.po_reference:
        order = _el(agreement, "ram:BuyerOrderReferencedDocument")
        _el(order, "ram:IssuerAssignedID", invoice.po_reference)


def _settlement(transaction, invoice: Invoice, means: PaymentMeans | None) -> None:
    currency = invoice.currency
    settlement = _el(transaction, "ram:ApplicableHeaderTradeSettlement")
    if means is not None and means.is_direct_debit and means.creditor_id:
        _el(settlement, "ram:CreditorReferenceID", means.creditor_id)
    if means is not None and means.remittance:
        _el(settlement, "ram:PaymentReference", means.remittance)
    accounting_tax = common.tax_total_in_accounting_currency(invoice)
    if accounting_tax is not None:
        _el(settlement, "ram:TaxCurrencyCode", common.ACCOUNTING_CURRENCY)
    _el(settlement, "ram:InvoiceCurrencyCode", currency)
    if means is not None:
        _payment_means(settlement, means)
    for tax in common.taxes_of(invoice):
        breakdown = _el(settlement, "ram:ApplicableTradeTax")
        _amount(breakdown, "ram:CalculatedAmount", tax.tax)
        _el(breakdown, "ram:TypeCode", "VAT")
        if tax.category != "S" and tax.exemption_reason:
            _el(breakdown, "ram:ExemptionReason", tax.exemption_reason)
        _amount(breakdown, "ram:BasisAmount", tax.base)
        _el(breakdown, "ram:CategoryCode", tax.category)
        if tax.category != "S" and tax.exemption_code:
            _el(breakdown, "ram:ExemptionReasonCode", tax.exemption_code)
        if tax.category != "O":
            _el(breakdown, "ram:RateApplicablePercent", common.rate(tax.rate))
    if invoice.period_start and invoice.period_end:
        period = _el(settlement, "ram:BillingSpecifiedPeriod")
        _date(period, "ram:StartDateTime", invoice.period_start)
        _date(period, "ram:EndDateTime", common.last_day(invoice.period_start, invoice.period_end))
    terms = _el(settlement, "ram:SpecifiedTradePaymentTerms")
    _el(terms, "ram:Description", common.payment_terms(invoice, means))
    if invoice.due_date:
        _date(terms, "ram:DueDateDateTime", invoice.due_date)
    if means is not None and means.is_direct_debit and means.mandate_reference:
        _el(terms, "ram:DirectDebitMandateID", means.mandate_reference)
    summation = _el(settlement, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
    _amount(summation, "ram:LineTotalAmount", invoice.net_total)
    _amount(summation, "ram:TaxBasisTotalAmount", invoice.net_total)
    _amount(summation, "ram:TaxTotalAmount", invoice.tax_total, currency)
    if accounting_tax is not None:
        _amount(summation, "ram:TaxTotalAmount", accounting_tax, common.ACCOUNTING_CURRENCY)
    _amount(summation, "ram:GrandTotalAmount", invoice.total)
    _amount(summation, "ram:TotalPrepaidAmount", invoice.amount_paid)
    _amount(summation, "ram:DuePayableAmount", common.due_amount(invoice))
    credited = invoice.credited_invoice
    if credited is not None:
        reference = _el(settlement, "ram:InvoiceReferencedDocument")
        _el(reference, "ram:IssuerAssignedID", credited.number)
        if credited.issue_date:
            _date(reference, "ram:FormattedIssueDateTime", credited.issue_date, kind="qdt")


def _payment_means(settlement, means: PaymentMeans) -> None:
    element = _el(settlement, "ram:SpecifiedTradeSettlementPaymentMeans")
    _el(element, "ram:TypeCode", means.code)
    if means.is_direct_debit and means.debtor_iban:
        _el(_el(element, "ram:PayerPartyDebtorFinancialAccount"), "ram:IBANID", means.debtor_iban)
    if means.is_transfer and means.payee_iban:
        _el(_el(element, "ram:PayeePartyCreditorFinancialAccount"), "ram:IBANID", means.payee_iban)
        if means.payee_bic:
            _el(
                _el(element, "ram:PayeeSpecifiedCreditorFinancialInstitution"),
                "ram:BICID",
                means.payee_bic,
            )
