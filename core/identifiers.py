"""Company identifiers: VAT numbers, SIREN and SIRET, checked by format and check digits.

python-stdnum holds the format and check-digit rules of every country's numbers (the French
VAT key, the SIREN's Luhn digit, Norway's MVA suffix…): we only say which rule applies and word
the refusal. Pure, no Django models: the models' `clean()`, the services and the forms all
call these, so a number is refused the same way at every door.

EU membership is stdnum's list of VAT member states (`xi` is Northern Ireland, `el` Greece's VAT
prefix for the country GR).
"""

from __future__ import annotations

from typing import Any

from stdnum import get_cc_module
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError as NumberError
from stdnum.fr import siren as fr_siren
from stdnum.fr import siret as fr_siret

from core.i18n import _

# ISO 3166 codes of the EU member states (Greece is GR, its VAT numbers start with EL).
EU_COUNTRIES = frozenset({"GR" if cc == "gr" else cc.upper() for cc in eu_vat.MEMBER_STATES}) - {
    "XI"
}
_VAT_PREFIX = {"GR": "EL"}


class InvalidIdentifier(ValueError):
    """A number that is not one: its message says what is wrong, for the person who typed it."""


def in_eu(country: str) -> bool:
    return country.upper() in EU_COUNTRIES


def compact(value: str) -> str:
    return "".join(ch for ch in (value or "") if ch.isalnum()).upper()


def vat_number_clean(value: str, country: str = "") -> str:
    """The VAT number in its compact form with its country prefix (`FR40303265045`), or
    `InvalidIdentifier`. A number without a prefix takes the country's (EU numbers are always
    written with it on invoices, EN 16931 BT-31/BT-48)."""
    number = compact(value)
    if not number:
        return ""
    country = (country or "").upper()
    prefix = number[:2]
    if not prefix.isalpha():
        if not country:
            raise InvalidIdentifier(
                _("Start the VAT number with its country code, e.g. FR40303265045.")
            )
        prefix = _VAT_PREFIX.get(country, country)
        number = prefix + number
    module: Any = eu_vat
    if prefix.lower() not in eu_vat.MEMBER_STATES and prefix != "EL":
        module = get_cc_module(prefix.lower(), "vat")
        if module is None:
            raise InvalidIdentifier(
                _(
                    "Cadence cannot check VAT numbers of the country %(country)s: check the "
                    "country code it starts with."
                )
                % {"country": prefix}
            )
    try:
        checked = module.validate(number)
    except NumberError as error:
        raise InvalidIdentifier(
            _("%(value)s is not a valid VAT number: check its digits.") % {"value": value.strip()}
        ) from error
    # The EU module returns the number with its prefix; national modules may drop it.
    return checked if checked[:2].isalpha() else prefix + checked


def vat_country(vat_number: str) -> str:
    """The ISO country of a (clean) VAT number: its prefix, but GR for EL."""
    prefix = vat_number[:2].upper()
    return "GR" if prefix == "EL" else prefix


def siren_clean(value: str) -> str:
    """A SIREN (9 digits, Luhn), compact, or `InvalidIdentifier`."""
    number = compact(value)
    if not number:
        return ""
    try:
        return fr_siren.validate(number)
    except NumberError as error:
        raise InvalidIdentifier(
            _("%(value)s is not a valid SIREN: check its digits.") % {"value": value.strip()}
        ) from error


def siret_clean(value: str) -> str:
    """A SIRET (14 digits: the SIREN and the establishment's number, Luhn), compact."""
    number = compact(value)
    if not number:
        return ""
    try:
        return fr_siret.validate(number)
    except NumberError as error:
        raise InvalidIdentifier(
            _("%(value)s is not a valid SIRET: check its digits.") % {"value": value.strip()}
        ) from error


def registration_clean(value: str, country: str) -> str:
    """A company registration number: in France a SIREN or a SIRET (by its length), checked;
    elsewhere kept as typed (no common rule)."""
    if (country or "").upper() != "FR" or not compact(value):
        return (value or "").strip()
    number = compact(value)
    return siret_clean(number) if len(number) > 9 else siren_clean(number)
