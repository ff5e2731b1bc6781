"""Card payments in the pages: a status and a decline code as people read them."""

from django import template

from payments.models import CardPayment, failure_text

register = template.Library()


@register.filter
def card_status(status: str) -> str:
    """The label of a card payment's status ("" for none)."""
    if status not in CardPayment.Status.values:
        return ""
    return str(CardPayment.Status(status).label)


@register.filter
def card_failure(code: str) -> str:
    """Why a card was declined, in the reader's language."""
    return failure_text(code)
