"""Forms of the payments doors: they parse, the services decide."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from payments.models import Refund, SepaDebit

# The mandate text the debtor accepts (SEPA Core scheme wording), in the reader's language.
MANDATE_TEXT = _(
    "By accepting this mandate, you authorise %(creditor)s to send instructions to your bank to "
    "debit your account and your bank to debit your account in accordance with those "
    "instructions. You are entitled to a refund from your bank under the terms and conditions "
    "of your agreement with it; a refund must be claimed within 8 weeks starting from the date "
    "on which your account was debited."
)


class SepaMandateForm(forms.Form):
    account_holder = forms.CharField(label=_("account holder"), max_length=70)
    iban = forms.CharField(label=_("IBAN"), max_length=42)
    bic = forms.CharField(
        label=_("BIC"),
        max_length=14,
        required=False,
        help_text=_("Leave empty: it is found from the IBAN for most banks."),
    )
    accepted = forms.BooleanField(
        label=_("The account holder accepted the mandate text"), required=False
    )

    def __init__(self, *args, self_service: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self_service:
            # The holder signs it themselves, on the page that shows the mandate text.
            self.fields["accepted"].label = _("I accept the mandate above")
            self.fields["account_holder"].label = _("Account holder (as your bank knows it)")


class CardForm(forms.Form):
    """A card typed in: checked by the services (card_details), then sent to the gateway,
    never stored."""

    number = forms.CharField(
        label=_("Card number"),
        max_length=23,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "cc-number", "inputmode": "numeric"}),
    )
    expiry = forms.CharField(
        label=_("Expiry (MM/YY)"),
        max_length=7,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "cc-exp", "placeholder": _("MM/YY")}),
    )
    holder = forms.CharField(
        label=_("Name on the card"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "cc-name"}),
    )


class CardAddForm(CardForm):
    make_default = forms.BooleanField(
        label=_("Pay my next invoices with this card"), required=False, initial=True
    )


NEW_CARD = "new"


class PayByCardForm(CardForm):
    """Pay an invoice: one of the saved cards, or a card typed in for this payment."""

    method = forms.ChoiceField(label=_("Card"), widget=forms.RadioSelect)

    field_order = ["method", "number", "expiry", "holder"]

    def __init__(self, *args, cards=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        choices = [(str(card.pk), str(card)) for card in cards]
        choices.append((NEW_CARD, _("Another card")))
        self.fields["method"].choices = choices
        self.fields["method"].initial = choices[0][0]
        if cards:
            self.fields["number"].help_text = _("Only for another card.")


class RefundForm(forms.Form):
    amount = forms.DecimalField(label=_("amount"), max_digits=14, decimal_places=2)
    via = forms.ChoiceField(label=_("paid back by"), choices=Refund.Via.choices)
    iban = forms.CharField(
        label=_("IBAN to pay back to"),
        max_length=42,
        required=False,
        help_text=_("For a transfer; empty: the account of the customer's mandate."),
    )
    reason = forms.CharField(
        label=_("reason (printed on the credit note)"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class StatementUploadForm(forms.Form):
    file = forms.FileField(
        label=_("camt.053 statement"),
        help_text=_("The XML account statement your bank exports (ISO 20022 camt.053)."),
    )


class EntryMatchForm(forms.Form):
    invoice = forms.CharField(
        label=_("invoice number"),
        max_length=24,
        help_text=_("The open invoice this transfer pays, e.g. F2026-000001."),
    )


class EntryIgnoreForm(forms.Form):
    reason = forms.CharField(
        label=_("reason"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Why this transfer pays no invoice, e.g. a transfer between our accounts."),
    )


class SepaReturnForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("reason code given by the bank"), choices=SepaDebit.ReturnReason.choices
    )
    day = forms.DateField(label=_("returned on"), widget=forms.DateInput(attrs={"type": "date"}))


class SepaReturnFileForm(forms.Form):
    file = forms.FileField(
        label=_("pain.002 or camt.054 file"),
        help_text=_(
            "The payment status report the bank sent back for a batch (pain.002), or its "
            "notification of returned direct debits (camt.054): XML."
        ),
    )
