"""`{% load money %}`: amounts in the page's language, through the one money formatter.

{{ invoice.total|money }}                      1 234,56 €   (a Money knows its currency)
{{ summary.total|money:summary.currency }}     129.60 EUR   (a Decimal is told it)
{{ charge.net|money_number:summary.currency }} 129,60       (a column whose currency is said once)
"""

from django import template

from core.money import money_text

register = template.Library()


def _currency(value, currency) -> str | None:
    currency = currency or getattr(value, "currency", None)
    return str(currency) if currency else None


@register.filter
def money(value, currency=None) -> str:
    if value is None or value == "":
        return ""
    return money_text(value, _currency(value, currency))


@register.filter
def money_number(value, currency=None) -> str:
    if value is None or value == "":
        return ""
    return money_text(value, _currency(value, currency), with_currency=False)
