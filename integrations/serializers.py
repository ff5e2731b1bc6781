"""Serializer pieces shared by the API's apps: money, periods, charges, previews, errors.

Money goes out as a string with the currency's minor unit (2 decimals: "129.60"), beside the
currency of its object; dates are ISO 8601. Nothing here decides anything: the charges, dates and
rules come from the services' ChangeResult.
"""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.money import money_decimal

MONEY_SCHEMA = {
    "type": "string",
    "pattern": r"^-?\d+\.\d{2}$",
    "example": "129.60",
    "description": "An amount in the currency of its object, 2 decimals, as a string.",
}


@extend_schema_field(MONEY_SCHEMA)
class MoneyField(serializers.Field):
    """A Money (django-money) or Decimal attribute, as '129.60'. The currency is the Money's, or
    the `currency` attribute of the object serialized."""

    def __init__(self, *, currency_attr: str = "currency", **kwargs):
        kwargs["read_only"] = True
        self.currency_attr = currency_attr
        super().__init__(**kwargs)

    def get_attribute(self, instance):
        value = super().get_attribute(instance)
        currency = getattr(value, "currency", None) or getattr(instance, self.currency_attr)
        return (value, str(currency))

    def to_representation(self, value):
        amount, currency = value
        return money_decimal(amount, currency)


@extend_schema_field(
    {
        "type": "string",
        "pattern": r"^-?\d+\.\d{2}$",
        "example": "20.00",
        "description": "A percentage, 2 decimals, as a string.",
    }
)
class PercentField(serializers.Field):
    def __init__(self, **kwargs):
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value):
        return f"{Decimal(value):.2f}"


class PeriodSerializer(serializers.Serializer):
    """A length of time: 3 × month."""

    count = serializers.IntegerField()
    unit = serializers.ChoiceField(choices=["day", "week", "month", "year"])


def period_or_none(count, unit) -> dict | None:
    return {"count": count, "unit": unit} if count and unit else None


class FieldErrorsSerializer(serializers.Serializer):
    """Documentation only: {"field": ["message"], "__all__": ["message"]}."""


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


# Charges and previews --------------------------------------------------------------------------


class AppliedDiscountSerializer(serializers.Serializer):
    label = serializers.CharField()
    amount = serializers.CharField(help_text="Taken off the line, 2 decimals.")
    rule = serializers.CharField()


class ChargeSerializer(serializers.Serializer):
    """One charge (subscriptions/charges.py): what it bills, how much, and the rule."""

    key = serializers.CharField(
        help_text="Unique within the subscription; its invoice line keys it."
    )
    kind = serializers.ChoiceField(choices=["recurring", "proration", "penalty", "one_off"])
    charge_date = serializers.DateField()
    period_start = serializers.DateField(source="period.start")
    period_end = serializers.DateField(source="period.end", help_text="Excluded.")
    description = serializers.CharField()
    quantity = serializers.DecimalField(max_digits=14, decimal_places=2)
    unit_amount = MoneyField(help_text="Per unit and billing period, before proration.")
    gross = MoneyField()
    discounts = serializers.SerializerMethodField()
    discount_total = MoneyField(source="priced.discount_total")
    net = MoneyField()
    tax_rate = PercentField()
    currency = serializers.CharField()
    rule = serializers.CharField()

    @extend_schema_field(AppliedDiscountSerializer(many=True))
    def get_discounts(self, charge) -> list[dict]:
        return [
            {"label": d.label, "amount": money_decimal(d.amount, charge.currency), "rule": d.rule}
            for d in charge.discounts
        ]


class PreviewSerializer(serializers.Serializer):
    """What a change costs and when it takes effect (a ChangeResult), saved or not."""

    charges = ChargeSerializer(many=True, help_text="Charged now (invoiced at once).")
    total_now = serializers.SerializerMethodField()
    next_charges = ChargeSerializer(many=True, help_text="The next period's charges.")
    total_next = serializers.SerializerMethodField()
    currency = serializers.CharField(source="subscription.currency")
    effective_date = serializers.DateField(allow_null=True)
    rule = serializers.CharField()
    message = serializers.CharField()

    @extend_schema_field(MONEY_SCHEMA)
    def get_total_now(self, result) -> str:
        return money_decimal(result.total_now, result.subscription.currency)

    @extend_schema_field(MONEY_SCHEMA)
    def get_total_next(self, result) -> str:
        return money_decimal(result.total_next, result.subscription.currency)


class EventSerializer(serializers.Serializer):
    """A timeline entry."""

    id = serializers.IntegerField()
    kind = serializers.CharField()
    effective_date = serializers.DateField()
    recorded_at = serializers.DateTimeField()
    channel = serializers.CharField()
    revoked = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_revoked(self, event) -> bool:
        return event.revoked_by_id is not None


class InputSerializer(serializers.Serializer):
    """A request body. A field it does not take is a 400 naming it (as Stripe does): a mistyped
    `quantitiy` used to be ignored, and the change made with the default. The schema says so
    (`additionalProperties: false`, integrations/schema.py)."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {name: [_("This operation takes no field of this name.")] for name in unknown}
                )
        return super().to_internal_value(data)
