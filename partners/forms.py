"""Forms of the partner portal: they parse input; the services decide (subscriptions/forms.py
maps their refusals to form errors)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from catalog.models import Plan, SeatType
from core.web.validators import validate_printable
from subscriptions.forms import IsoDateField
from subscriptions.models import Subscription

PO_REFERENCE_LENGTH = Subscription._meta.get_field("po_reference").max_length


def po_reference_field() -> forms.CharField:
    return forms.CharField(
        label=_("PO reference"),
        max_length=PO_REFERENCE_LENGTH,
        required=False,
        help_text=_("Your purchase order number, printed on the next invoices."),
        validators=[validate_printable],
    )


def seats_field(label: str, *, minimum: int = 0, devices: int | None = None) -> forms.IntegerField:
    attrs = {"inputmode": "numeric", "class": "seats-input"}
    if devices is not None:
        attrs["data-devices"] = str(devices)
    return forms.IntegerField(
        label=label,
        min_value=minimum,
        max_value=100_000,
        widget=forms.NumberInput(attrs=attrs),
        error_messages={"required": _("Enter a number of seats.")},
    )


def service_period_label(years: int, discount_percent) -> str:
    label = ngettext("%(years)s year", "%(years)s years", years) % {"years": years}
    if discount_percent:
        label += f" (−{discount_percent.normalize():f} %)"
    return label


class CustomerSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Search customers"),
        required=False,
        validators=[validate_printable],
        max_length=100,
        widget=forms.SearchInput(attrs={"placeholder": _("Name, email or city")}),
    )


class PurchaseForm(forms.Form):
    """A new subscription for one customer on one plan: start, PO reference, seats per type of
    the plan (the devices deployed are the suggested count), service period."""

    plan = forms.ModelChoiceField(queryset=Plan.objects.none(), widget=forms.HiddenInput)
    start_date = IsoDateField(
        label=_("Start date"),
        help_text=_(
            "In the past when the devices are already installed, in the future for coming "
            "installations."
        ),
    )
    po_reference = po_reference_field()
    service_period_years = forms.TypedChoiceField(
        label=_("Service period"), coerce=int, widget=forms.RadioSelect
    )

    def __init__(
        self,
        *args: Any,
        plan: Plan,
        plans: Iterable[Plan],
        seat_types: Iterable[SeatType],
        devices: Mapping[int, int],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.plan = plan
        self.fields["plan"].queryset = Plan.objects.filter(pk__in=[p.pk for p in plans])
        self.fields["plan"].initial = plan.pk
        self.seat_types = list(seat_types)
        for seat_type in self.seat_types:
            count = devices.get(seat_type.pk, 0)
            field = seats_field(
                _("%(type)s seats") % {"type": seat_type.display_name}, devices=count
            )
            field.initial = count
            field.help_text = ngettext(
                "%(count)s device deployed.", "%(count)s devices deployed.", count
            ) % {"count": count}
            self.fields[self.seat_field_name(seat_type)] = field
        options = list(plan.service_periods.all())
        service = self.fields["service_period_years"]
        if options:
            service.choices = [
                (option.years, service_period_label(option.years, option.discount_percent))
                for option in options
            ]
            service.initial = options[0].years
        else:
            del self.fields["service_period_years"]
        # Fields in the order a person fills them in.
        order = ["plan", "start_date", "po_reference"]
        order += [self.seat_field_name(s) for s in self.seat_types]
        self.order_fields([*order, "service_period_years"])

    @staticmethod
    def seat_field_name(seat_type: SeatType) -> str:
        return f"seats_{seat_type.code}"

    def seat_fields(self) -> list[forms.BoundField]:
        return [self[self.seat_field_name(s)] for s in self.seat_types]

    def other_fields(self) -> list[forms.BoundField]:
        seat_names = {self.seat_field_name(s) for s in self.seat_types}
        return [
            self[name]
            for name in self.fields
            if name not in seat_names and name not in ("plan", "service_period_years")
        ]

    def purchase(self) -> dict[str, Any]:
        """The validated input, as plain values (kept in the session between the steps)."""
        data = self.cleaned_data
        return {
            "plan": data["plan"].pk,
            "start_date": data["start_date"].isoformat(),
            "po_reference": data["po_reference"],
            "seats": {str(s.pk): data[self.seat_field_name(s)] or 0 for s in self.seat_types},
            "service_period_years": data.get("service_period_years"),
        }

    @classmethod
    def initial_from(cls, purchase: Mapping[str, Any], seat_types: Iterable[SeatType]) -> dict:
        initial = {
            "plan": purchase["plan"],
            "start_date": purchase["start_date"],
            "po_reference": purchase["po_reference"],
            "service_period_years": purchase["service_period_years"],
        }
        for seat_type in seat_types:
            initial[cls.seat_field_name(seat_type)] = purchase["seats"].get(str(seat_type.pk), 0)
        return initial


def sell_arguments(purchase: Mapping[str, Any]) -> dict[str, Any]:
    """subscription_sell's keyword arguments from the kept purchase (the plan aside)."""
    return {
        "start_date": date.fromisoformat(purchase["start_date"]),
        "po_reference": purchase["po_reference"],
        "seats": {int(k): int(v) for k, v in purchase["seats"].items()},
        "service_period_years": purchase["service_period_years"],
    }


class SubscriptionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Subscription) -> str:
        label = f"#{obj.pk} {obj.plan.display_name}"
        if obj.po_reference:
            label += f" — {obj.po_reference}"
        return label


class SeatTypeChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: SeatType) -> str:
        return obj.display_name


class AddSeatsForm(forms.Form):
    """Seats to add to one of the customer's subscriptions (chosen when there are several)."""

    subscription = SubscriptionChoiceField(
        label=_("Subscription"),
        queryset=Subscription.objects.none(),
        widget=forms.RadioSelect,
        empty_label=None,
    )
    seat_type = SeatTypeChoiceField(
        label=_("Seat type"), queryset=SeatType.objects.none(), empty_label=None
    )
    quantity = forms.IntegerField(
        label=_("Seats to add"),
        min_value=1,
        max_value=100_000,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )

    def __init__(
        self,
        *args: Any,
        subscriptions: list[Subscription],
        seat_types: list[SeatType],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        subscription = self.fields["subscription"]
        subscription.queryset = Subscription.objects.filter(
            pk__in=[s.pk for s in subscriptions]
        ).select_related("plan")
        if len(subscriptions) == 1:
            subscription.widget = forms.HiddenInput()
            subscription.initial = subscriptions[0].pk
        self.fields["seat_type"].queryset = SeatType.objects.filter(
            pk__in=[s.pk for s in seat_types]
        )
        if len(seat_types) == 1:
            self.fields["seat_type"].initial = seat_types[0].pk

    @property
    def has_subscription_choice(self) -> bool:
        return not isinstance(self.fields["subscription"].widget, forms.HiddenInput)


class SeatReductionForm(forms.Form):
    """A request for fewer seats from the renewal."""

    seat_type = SeatTypeChoiceField(
        label=_("Seat type"), queryset=SeatType.objects.none(), empty_label=None
    )
    quantity = forms.IntegerField(
        label=_("Seats from the renewal"),
        min_value=0,
        max_value=100_000,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        help_text=_("The number of seats to keep, not the number to remove."),
    )

    def __init__(self, *args: Any, seat_types: list[SeatType], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["seat_type"].queryset = SeatType.objects.filter(
            pk__in=[s.pk for s in seat_types]
        )
        if len(seat_types) == 1:
            self.fields["seat_type"].initial = seat_types[0].pk


class POReferenceForm(forms.Form):
    po_reference = po_reference_field()
