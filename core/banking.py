"""Bank account numbers as people read them (pure: no Django)."""

from __future__ import annotations


def compact_iban(iban: str) -> str:
    """An IBAN without spaces, in capitals: how it is stored and sent."""
    return "".join(iban.split()).upper()


def masked_iban(iban: str) -> str:
    """An IBAN shown without its middle digits: its country and check digits and its last four
    ("FR76 •••• 0189"), enough for its owner to recognise it and nothing for anyone else."""
    iban = compact_iban(iban)
    if len(iban) < 8:
        return "•" * len(iban)
    return f"{iban[:4]} •••• {iban[-4:]}"
