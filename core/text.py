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

import functools
import unicodedata

from core.i18n import _

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


def _refused_ranges() -> list[tuple[int, int]]:
    ranges: list[tuple[int, int]] = []
    for code in range(0x110000):
        character = chr(code)
        if character in LINE_BREAKS or unicodedata.category(character) not in ("Cc", "Cf"):
            continue
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1] = (ranges[-1][0], code)
        else:
            ranges.append((code, code))
    return ranges


@functools.cache
def printable_pattern() -> str:
    """The rule above as a regular expression, for the OpenAPI schema: text without a refused
    character, line breaks and tabs allowed.

    Only the Basic Multilingual Plane is spelled out: its escape (\\uXXXX) reads the same in
    ECMA-262 and Python, while the few refused characters beyond it (U+110BD, the language tags
    U+E0001…) have no common escape and break schema tools as literals. They are refused all
    the same."""
    refused = "".join(
        f"\\u{low:04x}" if low == high else f"\\u{low:04x}-\\u{high:04x}"
        for low, high in _refused_ranges()
        if high <= 0xFFFF
    )
    return f"^[^{refused}]*$"
