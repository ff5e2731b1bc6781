"""The parties of an invoice as they were when it was made: the dicts kept on
`Invoice.seller` and `Invoice.buyer`, read by the PDF and the e-invoices (EN 16931 BG-4, BG-7).

Keys (every value a string, empty when unknown):
- both: name, line1, line2, postal_code, city, country, vat_number, email,
  electronic_address, electronic_address_scheme ("0225" SIREN, "0009" SIRET, "EM" email);
- seller: trade_name, legal_form, registration_office, siren, siret, iban, bic,
  invoicing_framework, late_payment_penalty, footer_en, footer_fr;
- buyer: registration_number (a SIREN or SIRET for a French buyer, BT-47), siren.
"""

from __future__ import annotations

from catalog.models import SellerProfile
from core.identifiers import compact


def _electronic_address(address: str, scheme: str, siren: str, email: str) -> tuple[str, str]:
    """BT-34/BT-49: the address given, else the SIREN (scheme 0225), else the email (EM)."""
    if address:
        return address, scheme or ("EM" if "@" in address else "0225")
    if siren:
        return siren, "0225"
    if email:
        return email, "EM"
    return "", ""


def seller_snapshot(profile: SellerProfile) -> dict[str, str]:
    address, scheme = _electronic_address(
        profile.electronic_address,
        profile.electronic_address_scheme,
        profile.siren,
        profile.email,
    )
    return {
        "name": profile.legal_name,
        "trade_name": profile.trade_name,
        "legal_form": profile.legal_form,
        "registration_office": profile.registration_office,
        "siren": profile.siren,
        "siret": profile.siret,
        "vat_number": profile.vat_number,
        "line1": profile.address_line1,
        "line2": profile.address_line2,
        "postal_code": profile.postal_code,
        "city": profile.city,
        "country": profile.country,
        "email": profile.email,
        "phone": profile.phone,
        "electronic_address": address,
        "electronic_address_scheme": scheme,
        "iban": compact(profile.iban),
        "bic": compact(profile.bic),
        "invoicing_framework": profile.invoicing_framework,
        "late_payment_penalty": profile.late_payment_penalty,
        "footer_en": profile.footer_en,
        "footer_fr": profile.footer_fr,
    }


def buyer_snapshot(customer) -> dict[str, str]:
    """The party billed (a subscriptions.Customer: the customer, or a partner's account)."""
    registration = compact(customer.registration_number)
    siren = registration[:9] if customer.country == "FR" and registration.isdigit() else ""
    address, scheme = _electronic_address("", "", siren, customer.email)
    return {
        "name": customer.name,
        "line1": customer.address_line1,
        "line2": customer.address_line2,
        "postal_code": customer.postal_code,
        "city": customer.city,
        "country": customer.country,
        "vat_number": customer.vat_number,
        "registration_number": registration,
        "siren": siren,
        "email": customer.email,
        "electronic_address": address,
        "electronic_address_scheme": scheme,
    }
