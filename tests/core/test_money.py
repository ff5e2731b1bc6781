"""One formatter for every amount shown: half-up to the currency's minor unit, in the reader's
language ("140.05 EUR" in English, "140,05 €" in French)."""

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.money import money_text

D = Decimal
NBSP = "\u00a0"  # before the currency, in French
NNBSP = "\u202f"  # between thousands, in French


@pytest.mark.parametrize(
    ("amount", "currency", "english", "french"),
    [
        ("60", "EUR", "60.00 EUR", f"60,00{NBSP}€"),
        ("140.05", "EUR", "140.05 EUR", f"140,05{NBSP}€"),
        ("1234.56", "EUR", "1234.56 EUR", f"1{NNBSP}234,56{NBSP}€"),
        ("1234567.891", "EUR", "1234567.89 EUR", f"1{NNBSP}234{NNBSP}567,89{NBSP}€"),
        ("-60", "EUR", "-60.00 EUR", f"-60,00{NBSP}€"),
        ("-1234.5", "EUR", "-1234.50 EUR", f"-1{NNBSP}234,50{NBSP}€"),
        ("33.33", "CAD", "33.33 CAD", f"33,33{NBSP}$CA"),
        ("1234", "JPY", "1234 JPY", f"1{NNBSP}234{NBSP}JPY"),  # JPY has no minor unit
        ("1234.5", "JPY", "1235 JPY", f"1{NNBSP}235{NBSP}JPY"),
        ("1.2345", "BHD", "1.235 BHD", f"1,235{NBSP}BHD"),  # three decimals
    ],
)
def test_amounts_in_english_and_in_french(amount, currency, english, french):
    assert money_text(D(amount), currency, language="en") == english
    assert money_text(D(amount), currency, language="fr") == french


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("0.125", "0.13"),  # Python's format() would say 0.12 (half-even)
        ("2.675", "2.68"),
        ("-0.125", "-0.13"),
        ("0.124999", "0.12"),
        ("140.045", "140.05"),
    ],
)
def test_rounding_is_half_up_to_the_minor_unit(amount, expected):
    assert money_text(D(amount), "EUR", language="en", with_currency=False) == expected


def test_half_up_for_a_currency_without_decimals():
    assert money_text(D("2.5"), "JPY", language="fr") == f"3{NBSP}JPY"
    assert money_text(D("-2.5"), "JPY", language="en") == "-3 JPY"


def test_never_minus_zero():
    assert money_text(D("-0.001"), "EUR", language="en") == "0.00 EUR"
    assert money_text(D("-0.001"), "EUR", language="fr") == f"0,00{NBSP}€"


def test_the_number_alone_for_formulas_and_columns():
    assert money_text(D("240"), "EUR", language="fr", with_currency=False) == "240,00"
    assert money_text(D("1234.5"), "EUR", language="fr", with_currency=False) == f"1{NNBSP}234,50"
    assert money_text(D("240"), "EUR", language="en", with_currency=False) == "240.00"
    assert money_text(D("1234"), "JPY", language="fr", with_currency=False) == f"1{NNBSP}234"


def test_other_inputs_money_strings_fractions():
    from moneyed import Money

    assert money_text(Money("12.5", "EUR"), "EUR", language="fr") == f"12,50{NBSP}€"
    assert money_text("24.00", "EUR", language="fr") == f"24,00{NBSP}€"
    assert money_text(Fraction(1, 3), "EUR", language="en") == "0.33 EUR"


def test_regional_and_unknown_languages():
    assert money_text(D("5"), "EUR", language="fr-ca") == f"5,00{NBSP}€"
    assert money_text(D("5"), "EUR", language="en-gb") == "5.00 EUR"
    assert money_text(D("5"), "EUR", language="xx") == "5.00 EUR"  # the house format


def test_the_active_language_by_default():
    from django.utils import translation

    with translation.override("fr"):
        assert money_text(D("140.05"), "EUR") == f"140,05{NBSP}€"
    with translation.override("en"):
        assert money_text(D("140.05"), "EUR") == "140.05 EUR"


@given(st.decimals(min_value=-(10**9), max_value=10**9, allow_nan=False, places=4))
def test_french_reads_back_as_the_english_amount(amount):
    english = money_text(amount, "EUR", language="en", with_currency=False)
    french = money_text(amount, "EUR", language="fr", with_currency=False)
    assert french.replace(NNBSP, "").replace(",", ".") == english
