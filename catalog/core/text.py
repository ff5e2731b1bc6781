"""Text people type and invoices print: the characters refused in it, in one place.

Refused everywhere (API bodies, portal and self-service forms, PO references):
- Cc, the C0 and C1 control characters and DEL: a NUL byte reached PostgreSQL and answered 500,
  and none of them prints;
- Cf, the invisible format characters: bidirectional overrides and isolates (U+202A–U+202E,
  U+2066–U+2069, U+200E/U+200F) make "PO-1234" print as "PO-4321" on an invoice, and zero-width
  characters (U+200B–U+200D, U+2060, U+FEFF) make two references that look equal differ.
Line breaks and tabs are allowed where a text may span lines (an address, a note).
"""

from __future__ import annotations

import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

LINE_BREAKS = frozenset("\t\n\r")


def forbidden_character(text: str, *, multiline: bool = True) -> str | None:
    """The first character of `text` refused by the rule above, or None."""
    for character in text:
        if multiline and character in LINE_BREAKS:
            continue
        if unicodedata.category(character) in ("Cc", "Cf"):
            return character
    return None


def describe(character: str) -> str:
    """U+202E (RIGHT-TO-LEFT OVERRIDE): how a person can find the character in their data."""
    name = unicodedata.name(character, "")
    code = f"U+{ord(character):04X}"
    return f"{code} ({name})" if name else code


def refusal_message(character: str) -> str:
    return _(
        "Remove the invisible or control character %(character)s: it cannot be stored or printed."
    ) % {"character": describe(character)}


def validate_printable(value: str) -> None:
    """A form field validator: one line of printable text."""
    character = forbidden_character(str(value), multiline=False)
    if character is not None:
        raise ValidationError(refusal_message(character), code="forbidden_character")
