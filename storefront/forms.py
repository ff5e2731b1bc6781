"""Forms of the hosted checkout: they parse what the visitor typed; storefront.services decide
(their refusals become field errors through subscriptions.forms.add_refusal)."""

from __future__ import annotations

from typing import Any

import pycountry
from babel import Locale
from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from catalog.models import Bundle, PaymentType, Plan, Product, SeatType
from core.web.validators import validate_printable
from storefront.services.signup import BILLING_FIELDS

COMPANY, PERSON = "company", "person"


def country_choices() -> list[tuple[str, str]]:
    """Every ISO 3166 country, named and sorted in the current language."""
    language = (translation.get_language() or "en")[:2]
    try:
        names = Locale.parse(language).territories
    except (ValueError, TypeError):
        names = Locale.parse("en").territories
    choices = [
        (c.alpha_2, names.get(c.alpha_2) or c.name)
        for c in pycountry.countries  # type: ignore[attr-defined]
    ]
    return [("", _("Choose a country")), *sorted(choices, key=lambda c: c[1].casefold())]


def _text(label, *, required: bool = True, max_length: int = 200, **attrs: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=required,
        max_length=max_length,
        validators=[validate_printable],
        widget=forms.TextInput(attrs=attrs),
    )


class CheckoutForm(forms.Form):
    """The order: options and add-ons, a coupon code, the account, the billing details and
    the payment method. A logged-in customer gives only the order (`account=False`)."""

    coupon = _text(_("Coupon code (optional)"), required=False, max_length=60, autocomplete="off")

    email = forms.EmailField(
        label=_("Email address"),
        max_length=254,
        help_text=_("Your login, and where your invoices are sent."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}, render_value=False),
        help_text=_("At least 8 characters, not only digits, not too common."),
    )

    kind = forms.ChoiceField(
        label=_("You subscribe as"),
        choices=[(COMPANY, _("a company or an organisation")), (PERSON, _("a person"))],
        widget=forms.RadioSelect,
        initial=COMPANY,
    )
    name = _text(_("Company name, or your full name"), autocomplete="organization", max_length=200)
    vat_number = _text(
        _("VAT number (companies, optional)"),
        required=False,
        max_length=40,
        autocomplete="off",
    )
    address_line1 = _text(_("Address"), autocomplete="address-line1")
    address_line2 = _text(_("Address (continued)"), required=False, autocomplete="address-line2")
    postal_code = _text(_("Postal code"), max_length=20, autocomplete="postal-code")
    city = _text(_("City"), max_length=100, autocomplete="address-level2")
    country = forms.ChoiceField(label=_("Country"), choices=())
    phone = _text(_("Phone (optional)"), required=False, max_length=40, autocomplete="tel")

    payment_type = forms.ChoiceField(label=_("Payment method"), widget=forms.RadioSelect)
    card_number = _text(
        _("Card number"),
        required=False,
        max_length=23,
        autocomplete="cc-number",
        inputmode="numeric",
    )
    card_expiry = _text(_("Expiry (MM/YY)"), required=False, max_length=7, autocomplete="cc-exp")
    card_holder = _text(
        _("Name on the card"), required=False, max_length=100, autocomplete="cc-name"
    )
    sepa_holder = _text(
        _("Account holder (as your bank knows it)"),
        required=False,
        max_length=70,
        autocomplete="name",
    )
    iban = _text(_("IBAN"), required=False, max_length=42, autocomplete="off")
    bic = _text(
        _("BIC (optional: found from the IBAN for most banks)"),
        required=False,
        max_length=14,
        autocomplete="off",
    )
    sepa_accept = forms.BooleanField(label=_("I accept the mandate above"), required=False)

    ACCOUNT = ("email", "password")
    # The customer's fields the sign-up keeps, after "company or person".
    BILLING = ("kind", *BILLING_FIELDS)
    CARD = ("card_number", "card_expiry", "card_holder")
    SEPA = ("sepa_holder", "iban", "bic", "sepa_accept")

    def __init__(
        self,
        *args: Any,
        plan: Plan,
        seat_types: list[SeatType] | None = None,
        options: list[Product],
        addons: list[Bundle],
        payment_types: list[str],
        account: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.plan = plan
        self.account = account
        self.seat_types = seat_types or []
        self.options = options
        self.addons = addons
        # A plan that sells seats: how many of each type (one of the first, to begin with).
        for position, seat_type in enumerate(self.seat_types):
            field = self._quantity(
                _("Seats: %(type)s") % {"type": seat_type.display_name}, minimum=0
            )
            field.initial = 1 if position == 0 else 0
            self.fields[f"seats_{seat_type.pk}"] = field
        for product in options:
            self.fields[f"option_{product.pk}"] = self._quantity(product.display_name)
        for bundle in addons:
            self.fields[f"addon_{bundle.pk}"] = self._quantity(bundle.display_name)
        if not account:
            for name in (*self.ACCOUNT, *self.BILLING, *self.CARD, *self.SEPA, "payment_type"):
                del self.fields[name]
            return
        self.fields["country"].choices = country_choices()
        labels = dict(PaymentType.choices)
        self.fields["payment_type"].choices = [(t, labels[t]) for t in payment_types]
        if payment_types:
            self.fields["payment_type"].initial = payment_types[0]

    @staticmethod
    def _quantity(label: str, minimum: int = 0) -> forms.IntegerField:
        return forms.IntegerField(
            label=label,
            min_value=minimum,
            max_value=1000,
            initial=0,
            required=False,
            widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        )

    def option_fields(self) -> list[forms.BoundField]:
        return [
            *(self[f"seats_{t.pk}"] for t in self.seat_types),
            *(self[f"option_{p.pk}"] for p in self.options),
        ] + [self[f"addon_{b.pk}"] for b in self.addons]

    def group(self, names: tuple[str, ...]) -> list[forms.BoundField]:
        return [self[name] for name in names if name in self.fields]

    def account_fields(self) -> list[forms.BoundField]:
        return self.group(self.ACCOUNT)

    def billing_fields(self) -> list[forms.BoundField]:
        return self.group(self.BILLING)

    def card_fields(self) -> list[forms.BoundField]:
        return self.group(self.CARD)

    def sepa_fields(self) -> list[forms.BoundField]:
        return self.group(self.SEPA)

    def clean_password(self) -> str:
        password = self.cleaned_data.get("password") or ""
        user_like = None
        email = self.data.get(self.add_prefix("email")) or ""
        if email:
            user_like = get_user_model()(username=email, email=email)
        try:
            validate_password(password, user=user_like)
        except ValidationError as error:
            raise ValidationError(error.messages) from None
        return password

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not self.account:
            return data
        if data.get("kind") == PERSON:
            data["vat_number"] = ""
        kind = data.get("payment_type")
        if kind == PaymentType.CARD:
            for name, message in (
                ("card_number", _("Enter the card number.")),
                ("card_expiry", _("Enter the expiry date as on the card: MM/YY.")),
                ("card_holder", _("Enter the cardholder's name as printed on the card.")),
            ):
                if not data.get(name) and name not in self.errors:
                    self.add_error(name, message)
        elif kind == PaymentType.SEPA_DEBIT:
            for name, message in (
                ("sepa_holder", _("Enter the account holder's name.")),
                ("iban", _("Enter the IBAN of the account to debit.")),
            ):
                if not data.get(name) and name not in self.errors:
                    self.add_error(name, message)
            if not data.get("sepa_accept"):
                self.add_error(
                    "sepa_accept",
                    _("Accept the mandate text: it authorises us to debit this account."),
                )
        return data

    def order(self) -> dict[str, Any]:
        """The validated order as plain values (no card number, no password)."""
        data = self.cleaned_data
        order: dict[str, Any] = {
            "seats": {str(t.pk): data.get(f"seats_{t.pk}") or 0 for t in self.seat_types},
            "options": {str(p.pk): data.get(f"option_{p.pk}") or 0 for p in self.options},
            "addons": {str(b.pk): data.get(f"addon_{b.pk}") or 0 for b in self.addons},
            "coupon": (data.get("coupon") or "").strip(),
            "language": (translation.get_language() or "en")[:2],
        }
        if self.account:
            order["billing"] = {name: data.get(name) or "" for name in self.BILLING}
            order["payment"] = {"type": data["payment_type"]}
        return order


class ReviewForm(forms.Form):
    accept_terms = forms.BooleanField(
        label=_("I accept the terms of sale and the plan's terms"),
        error_messages={"required": _("Accept the terms to subscribe.")},
    )
