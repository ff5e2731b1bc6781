"""Form field validators built on the core's rules."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from core.text import forbidden_character, refusal_message


def validate_printable(value: str) -> None:
    """One line of printable text (core/text.py)."""
    character = forbidden_character(str(value), multiline=False)
    if character is not None:
        raise ValidationError(refusal_message(character), code="forbidden_character")
