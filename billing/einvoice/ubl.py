"""The OASIS UBL 2.1 Invoice (or CreditNote, for a credit note) of an issued document, to the
EN 16931 UBL binding: the same content as the CII (billing/einvoice/cii.py), from the same
stored rows. `invoice_ubl(invoice, payment_means=None) -> bytes`.

The element order is the UBL XSD's (a sequence), which the validation checks.
"""

from __future__ import annotations

from lxml import etree

from billing.einvoice import common
from billing.einvoice.common import PaymentMeans, payment_means_for
from billing.models import Invoice

CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
ROOTS = {
    "Invoice": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "CreditNote": "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
}


def _el(parent, tag: str, text: str | None = None, **attributes: str):
    prefix, name = tag.split(":")
    namespace = CAC if prefix == "cac" else CBC
    element = etree.SubElement(parent, f"{{{namespace}}}{name}", attributes)
    if text is not None:
        element.text = text
    return element


def _amount(parent, tag: str, value, currency: str) -> None:
    _el(parent, tag, common.amount(value), currencyID=currency)


def invoice_ubl(invoice: Invoice, payment_means: PaymentMeans | None = None) -> bytes:
    means = payment_means if payment_means is not None else payment_means_for(invoice)
    credit = invoice.kind == Invoice.Kind.CREDIT_NOTE
    name = "CreditNote" if credit else "Invoice"
    root = etree.Element(
        f"{{{ROOTS[name]}}}{name}", nsmap={None: ROOTS[name], "cac": CAC, "cbc": CBC}
    )
    currency = invoice.currency
    framework = (invoice.seller or {}).get("invoicing_framework", "")

    _el(root, "cbc:CustomizationID", common.EN16931)
    if framework:
        _el(root, "cbc:ProfileID", framework)  # BT-23
    _el(root, "cbc:ID", invoice.number)
    _el(root, "cbc:IssueDate", common.iso_date(invoice.issue_date))
    if invoice.due_date and not credit:  # a CreditNote has its due date in PaymentMeans
        _el(root, "cbc:DueDate", common.iso_date(invoice.due_date))
    _el(
        root,
        "cbc:CreditNoteTypeCode" if credit else "cbc:InvoiceTypeCode",
        common.type_code(invoice),
    )
    for subject, text in common.notes(invoice):
        _el(root, "cbc:Note", f"#{subject}#{text}")  # the EN 16931 UBL binding of BT-21/BT-22
    accounting_tax = common.tax_total_in_accounting_currency(invoice)
    _el(root, "cbc:DocumentCurrencyCode", currency)
    if accounting_tax is not None:
        _el(root, "cbc:TaxCurrencyCode", common.ACCOUNTING_CURRENCY)
    if invoice.po_reference:
        _el(root, "cbc:BuyerReference", invoice.po_reference)
    if invoice.period_start and invoice.period_end:
        period = _el(root, "cac:InvoicePeriod")
        _el(period, "cbc:StartDate", common.iso_date(invoice.period_start))
        _el(
            period,
            "cbc:EndDate",
            common.iso_date(common.last_day(invoice.period_start, invoice.period_end)),
        )
    if invoice.po_reference:
        _el(_el(root, "cac:OrderReference"), "cbc:ID", invoice.po_reference)
    credited = invoice.credited_invoice
    if credited is not None:
        reference = _el(_el(root, "cac:BillingReference"), "cac:InvoiceDocumentReference")
        _el(reference, "cbc:ID", credited.number)
        if credited.issue_date:
            _el(reference, "cbc:IssueDate", common.iso_date(credited.issue_date))
    _party(
        _el(root, "cac:AccountingSupplierParty"),
        invoice.seller or {},
        vat_number=common.seller_vat_number(invoice),
        seller=True,
    )
    _party(
        _el(root, "cac:AccountingCustomerParty"),
        invoice.buyer or {},
        vat_number=common.buyer_vat_number(invoice),
        seller=False,
    )
    delivery = _el(root, "cac:Delivery")
    _el(
        _el(_el(delivery, "cac:DeliveryParty"), "cac:PartyName"),
        "cbc:Name",
        common.deliver_to_name(invoice),
    )
    if means is not None:
        _payment_means(root, means, invoice.due_date if credit else None)
    _el(_el(root, "cac:PaymentTerms"), "cbc:Note", common.payment_terms(invoice, means))

    taxes = common.taxes_of(invoice)
    total = _el(root, "cac:TaxTotal")
    _amount(total, "cbc:TaxAmount", invoice.tax_total, currency)
    for tax in taxes:
        subtotal = _el(total, "cac:TaxSubtotal")
        _amount(subtotal, "cbc:TaxableAmount", tax.base, currency)
        _amount(subtotal, "cbc:TaxAmount", tax.tax, currency)
        _category(subtotal, tax.category, tax.rate, tax.exemption_code, tax.exemption_reason)
    if accounting_tax is not None:
        _amount(_el(root, "cac:TaxTotal"), "cbc:TaxAmount", accounting_tax, "EUR")

    monetary = _el(root, "cac:LegalMonetaryTotal")
    _amount(monetary, "cbc:LineExtensionAmount", invoice.net_total, currency)
    _amount(monetary, "cbc:TaxExclusiveAmount", invoice.net_total, currency)
    _amount(monetary, "cbc:TaxInclusiveAmount", invoice.total, currency)
    _amount(monetary, "cbc:PrepaidAmount", invoice.amount_paid, currency)
    _amount(monetary, "cbc:PayableAmount", common.due_amount(invoice), currency)

    for index, line in enumerate(common.lines_of(invoice), start=1):
        _line(root, index, line, currency, credit)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _category(parent, category: str, rate, code: str, reason: str, *, line: bool = False) -> None:
    element = _el(parent, "cac:ClassifiedTaxCategory" if line else "cac:TaxCategory")
    _el(element, "cbc:ID", category)
    if category != "O":  # BR-O-05: no rate outside the scope of VAT
        _el(element, "cbc:Percent", common.rate(rate))
    if not line and category != "S":
        if code:
            _el(element, "cbc:TaxExemptionReasonCode", code)
        if reason:
            _el(element, "cbc:TaxExemptionReason", reason)
    _el(_el(element, "cac:TaxScheme"), "cbc:ID", "VAT")


def _party(parent, party: dict, *, vat_number: str, seller: bool) -> None:
    element = _el(parent, "cac:Party")
    if party.get("electronic_address"):
        _el(
            element,
            "cbc:EndpointID",
            party["electronic_address"],
            schemeID=party.get("electronic_address_scheme", ""),
        )
    if seller and party.get("siret"):
        _el(
            _el(element, "cac:PartyIdentification"),
            "cbc:ID",
            party["siret"],
            schemeID=common.SIRET_SCHEME,
        )
    if seller and party.get("trade_name"):
        _el(_el(element, "cac:PartyName"), "cbc:Name", party["trade_name"])
    address = _el(element, "cac:PostalAddress")
    if party.get("line1"):
        _el(address, "cbc:StreetName", party["line1"])
    if party.get("line2"):
        _el(address, "cbc:AdditionalStreetName", party["line2"])
    if party.get("city"):
        _el(address, "cbc:CityName", party["city"])
    if party.get("postal_code"):
        _el(address, "cbc:PostalZone", party["postal_code"])
    _el(_el(address, "cac:Country"), "cbc:IdentificationCode", party.get("country", ""))
    if vat_number:
        scheme = _el(element, "cac:PartyTaxScheme")
        _el(scheme, "cbc:CompanyID", vat_number)
        _el(_el(scheme, "cac:TaxScheme"), "cbc:ID", "VAT")
    legal = _el(element, "cac:PartyLegalEntity")
    _el(legal, "cbc:RegistrationName", party.get("name", ""))
    if party.get("siren"):
        _el(legal, "cbc:CompanyID", party["siren"], schemeID=common.LEGAL_REGISTRATION_SCHEME)


def _payment_means(root, means: PaymentMeans, due_date) -> None:
    element = _el(root, "cac:PaymentMeans")
    _el(element, "cbc:PaymentMeansCode", means.code)
    if due_date is not None:
        _el(element, "cbc:PaymentDueDate", common.iso_date(due_date))
    if means.remittance:
        _el(element, "cbc:PaymentID", means.remittance)
    if means.is_transfer and means.payee_iban:
        account = _el(element, "cac:PayeeFinancialAccount")
        _el(account, "cbc:ID", means.payee_iban)
        if means.payee_bic:
            _el(_el(account, "cac:FinancialInstitutionBranch"), "cbc:ID", means.payee_bic)
    if means.is_direct_debit:
        mandate = _el(element, "cac:PaymentMandate")
        _el(mandate, "cbc:ID", means.mandate_reference)
        if means.debtor_iban:
            _el(_el(mandate, "cac:PayerFinancialAccount"), "cbc:ID", means.debtor_iban)


def _line(root, index: int, line, currency: str, credit: bool) -> None:
    written = common.LinePrice.of(line)
    element = _el(root, "cac:CreditNoteLine" if credit else "cac:InvoiceLine")
    _el(element, "cbc:ID", str(index))
    _el(
        element,
        "cbc:CreditedQuantity" if credit else "cbc:InvoicedQuantity",
        common.quantity(written.quantity),
        unitCode=common.UNIT_CODE,
    )
    _amount(element, "cbc:LineExtensionAmount", line.net, currency)
    if line.period_start and line.period_end:
        period = _el(element, "cac:InvoicePeriod")
        _el(period, "cbc:StartDate", common.iso_date(line.period_start))
        _el(
            period,
            "cbc:EndDate",
            common.iso_date(common.last_day(line.period_start, line.period_end)),
        )
    for label, value in written.allowances:
        allowance = _el(element, "cac:AllowanceCharge")
        _el(allowance, "cbc:ChargeIndicator", "false")
        _el(allowance, "cbc:AllowanceChargeReasonCode", "95")  # UNTDID 5189: discount
        _el(allowance, "cbc:AllowanceChargeReason", label or "Discount")
        _amount(allowance, "cbc:Amount", value, currency)
    item = _el(element, "cac:Item")
    _el(item, "cbc:Name", line.description)
    _category(item, line.tax_category, line.tax_rate, "", "", line=True)
    price = _el(element, "cac:Price")
    _el(price, "cbc:PriceAmount", common.price(written.price), currencyID=currency)
    if written.base_quantity is not None:
        _el(
            price,
            "cbc:BaseQuantity",
            common.quantity(written.base_quantity),
            unitCode=common.UNIT_CODE,
        )
