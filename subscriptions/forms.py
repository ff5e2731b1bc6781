"""Forms of the self-service pages, and the pieces the partner portal shares with them.

Forms only parse input. The rules are the services': a refusal (ApplicationError) becomes a form
error through `add_refusal`, on the field it names when the form has that field, else at the top
of the form.
"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from core.errors import ApplicationError
from core.web.validators import validate_printable

ISO_DATE = "%Y-%m-%d"


def add_refusal(form: forms.Form, error: ApplicationError) -> None:
    """Show a service's refusal in the form (call after is_valid())."""
    if not hasattr(form, "cleaned_data"):
        form.cleaned_data = {}
    field = error.field if error.field in form.fields else None
    form.add_error(field, error.message)


class IsoDateInput(forms.DateInput):
    """A calendar picker in browsers; the value travels as YYYY-MM-DD whatever the language."""

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format=ISO_DATE)


class IsoDateField(forms.DateField):
    widget = IsoDateInput
    default_error_messages = {"invalid": _("Enter the date as YYYY-MM-DD, e.g. 2026-01-01.")}

    def __init__(self, **kwargs):
        kwargs.setdefault("input_formats", [ISO_DATE])
        super().__init__(**kwargs)


class AcceptTermsForm(forms.Form):
    """The last step of a purchase: the terms shown above must be accepted."""

    accept_terms = forms.BooleanField(
        label=_("I have read and I accept these terms."),
        error_messages={"required": _("Accept the terms to confirm the purchase.")},
    )


class ConfirmForm(forms.Form):
    """A confirmation without input: holds the refusal, if the service refuses."""


class CreditsTopupForm(forms.Form):
    """Credits bought on a credit-based contract (the service decides what is allowed)."""

    credits = forms.DecimalField(
        label=_("Credits to buy"),
        max_digits=12,
        decimal_places=2,
        error_messages={"required": _("Enter the number of credits to buy.")},
    )


class CouponForm(forms.Form):
    code = forms.CharField(
        label=_("Coupon or voucher code"),
        max_length=60,
        error_messages={"required": _("Enter a code.")},
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        validators=[validate_printable],
    )
