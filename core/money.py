"""Money as people read it: the one formatter of every amount shown (pages, PDFs, rules on
invoice lines, messages). Amounts are rounded half-up to the currency's minor unit first
(billing-rules §2: ROUND_HALF_UP; 2 decimals for EUR, none for JPY, 3 for BHD), then written in
the language of the page or document:

- English keeps the house format: "1234.56 EUR", "-60.00 EUR" (no grouping, the ISO code);
- French (and any other language) follows CLDR through babel: "1 234,56 €" — a decimal comma,
  thousands grouped by a narrow no-break space (U+202F), a no-break space (U+00A0) before the
  symbol; "33,33 $CA", "1 235 JPY".

For machines (the API, the timeline's data) `money_decimal` writes the same rounded amount
without language: "129.60", "1235" in JPY.
Pure (no Django import): the language comes from the caller or from the hook that the catalog
app installs (core.i18n.language).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from fractions import Fraction
from functools import cache, lru_cache

from babel import Locale, UnknownLocaleError
from babel.numbers import NumberPattern, parse_pattern

from core import i18n
from core.pricing import minor_unit_exponent, round_money


def money_text(
    amount: Decimal | Fraction | int | str,
    currency: str,
    *,
    language: str | None = None,
    with_currency: bool = True,
) -> str:
    """`amount` (a Decimal, a Money, a Fraction or a decimal string) in `currency`, rounded
    half-up to its minor unit and written in `language` (default: the active one).
    `with_currency=False` writes the number alone, for a column or a formula whose currency is
    said once ("240,00 × 426 ÷ 730")."""
    currency = str(currency)
    amount = getattr(amount, "amount", amount)  # a django-money Money
    if isinstance(amount, str | float):
        amount = Decimal(str(amount))
    value = round_money(amount, currency)
    if value == 0:
        value = abs(value)  # never "-0.00"
    return _text(value, currency, language or i18n.language() or "en", with_currency)


# A billing run writes the same few amounts on thousands of lines, and babel's formatting costs
# more than the pricing: memoized. The key's amount is rounded to the currency's minor unit
# first, so two keys that compare equal (Decimal("1.0") == Decimal("1.00")) write the same.
@lru_cache(maxsize=4096)
def _text(value: Decimal, currency: str, language: str, with_currency: bool) -> str:
    exponent = minor_unit_exponent(currency).as_tuple().exponent
    assert isinstance(exponent, int)  # a finite quantum (0.01, 1, 0.001)
    digits = -exponent
    formatted = _pattern(language, digits, with_currency)
    if formatted is None:
        text = f"{value:f}"
        return f"{text} {currency}" if with_currency else text
    locale, pattern = formatted
    return pattern.apply(value, locale, currency=currency, currency_digits=False)


def money_decimal(amount: Decimal | Fraction | int | str | None, currency: str) -> str | None:
    """'129.60': `amount` rounded half-up to the minor unit of `currency`, as a plain decimal
    string (never '-0.00'); None stays None."""
    if amount is None:
        return None
    amount = getattr(amount, "amount", amount)  # a django-money Money
    if isinstance(amount, str | float):
        amount = Decimal(str(amount))
    value = round_money(amount, str(currency))
    return str(abs(value) if value == 0 else value)


@cache
def _pattern(
    language: str, digits: int, with_currency: bool
) -> tuple[Locale, NumberPattern] | None:
    """The locale and number pattern of a language, with the currency's decimals (None: the
    English house format)."""
    if language.lower().split("-")[0].split("_")[0] == "en":
        return None
    try:
        locale = Locale.parse(language.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return None
    source = locale.currency_formats["standard"] if with_currency else locale.decimal_formats[None]
    pattern = parse_pattern(source.pattern)
    pattern.frac_prec = (digits, digits)
    return locale, pattern


def amount_entered(value: Decimal | str | int) -> Decimal | None:
    """An amount a person typed (or an API sent), as a finite Decimal; None when it is not one
    ("abc", "NaN", "Infinity": comparing a NaN raises, so it never reaches a rule). The caller
    refuses None with its own message."""
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() else None
