"""Payment references as banks carry them (pure: no Django).

An invoice's structured reference is its ISO 11649 creditor reference ("RF" + two check digits +
the invoice number without its separators, at most 21 letters and digits), printed on the
invoice so that a transfer quoting it is matched to it when the bank statement is imported.
Customers also type the invoice number itself in the free text of their transfer: both lead to
the same key, the document number's letters and digits.
"""

from __future__ import annotations

import re

from stdnum import iso11649
from stdnum.exceptions import ValidationError
from stdnum.iso7064 import mod_97_10

# An RF reference written anywhere in a text, grouped by four or not.
_RF_IN_TEXT = re.compile(r"RF\d{2}(?:[ ]?[A-Z0-9]){1,21}")
# A document number as Cadence writes them (series letters, year, sequence: F2026-000001),
# with or without its dash or a space after the series.
_NUMBER_IN_TEXT = re.compile(r"(?<![A-Z0-9])([A-Z]{1,8}) ?(\d{4})-?(\d{4,12})(?![0-9])")


def reference_key(number: str) -> str:
    """The letters and digits of a document number, in capitals: what references carry."""
    return "".join(ch for ch in number.upper() if ch.isascii() and ch.isalnum())


def creditor_reference(number: str) -> str:
    """The ISO 11649 creditor reference of a document number, compact ("RF18F2026000001");
    empty when the number cannot make one (no number yet, or more than 21 letters and digits)."""
    key = reference_key(number or "")
    if not key or len(key) > 21:
        return ""
    reference = f"RF{mod_97_10.calc_check_digits(key + 'RF')}{key}"
    return iso11649.validate(reference)


def creditor_reference_text(number: str) -> str:
    """The creditor reference as people read and type it, by groups of four."""
    reference = creditor_reference(number)
    return iso11649.format(reference) if reference else ""


def key_from_creditor_reference(reference: str) -> str:
    """The document key a valid RF reference carries; empty if it is not a valid one (a wrong
    check digit is a typing error: it matches nothing rather than another invoice)."""
    try:
        compact = iso11649.validate(reference or "")
    except ValidationError:
        return ""
    return compact[4:]


def keys_in_text(text: str) -> list[str]:
    """The document keys found in a transfer's free text: valid RF references first, then what
    reads like an invoice number, each once, in the order found."""
    upper = (text or "").upper()
    keys: list[str] = []
    for found in _RF_IN_TEXT.finditer(upper):
        # Grouped by four, a reference may run into the next word: the longest run of whole
        # groups that is a valid reference.
        groups = found.group(0).split(" ")
        for end in range(len(groups), 0, -1):
            key = key_from_creditor_reference("".join(groups[:end]))
            if key:
                keys.append(key)
                break
    for series, year, sequence in _NUMBER_IN_TEXT.findall(upper):
        keys.append(f"{series}{year}{sequence}")
    return list(dict.fromkeys(keys))


_KEY = re.compile(r"^([A-Z]{1,8})(\d{4})(\d{4,12})$")


def number_from_key(key: str) -> str:
    """The document number a key stands for, as billing numbers them (series, year, dash,
    sequence: billing.models.format_number); empty if the key is not one."""
    found = _KEY.match(key)
    if found is None:
        return ""
    series, year, sequence = found.groups()
    return f"{series}{year}-{sequence}"
