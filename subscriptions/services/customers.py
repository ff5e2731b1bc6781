"""Customers and the devices they have deployed."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from catalog.models import (
    SeatType,
)
from subscriptions.models import (
    Customer,
    CustomerEvent,
    DeployedDevices,
    Subscription,
    SubscriptionEvent,
)
from subscriptions.services._base import refuse, whole_number

Kind = SubscriptionEvent.Kind
Status = Subscription.Status

CUSTOMER_FIELDS = {
    "name",
    "registration_number",
    "vat_number",
    "email",
    "phone",
    "address_line1",
    "address_line2",
    "postal_code",
    "city",
    "country",
    "locale",
    "currency",
    "payment_type",
}


def _clean_customer(fields: dict[str, Any]) -> dict[str, Any]:
    unknown = set(fields) - CUSTOMER_FIELDS
    if unknown:
        raise TypeError(f"unknown customer fields: {sorted(unknown)}")
    if "country" in fields:
        fields["country"] = (fields["country"] or "").strip().upper()
    for name in ("name", "email", "address_line1", "postal_code", "city"):
        if name in fields and not str(fields[name] or "").strip():
            refuse(_("This field is required."), name)
    return fields


def customer_create(*, channel: str = "", **fields: Any) -> Customer:
    """A new customer, and its `created` entry (the outbox of the customer.created webhook)."""
    customer = Customer(**_clean_customer(fields))
    customer.full_clean()
    with transaction.atomic():
        customer.save()
        CustomerEvent.objects.create(
            customer=customer, kind=CustomerEvent.Kind.CREATED, channel=channel
        )
    return customer


def customer_update(*, customer: Customer, **fields: Any) -> Customer:
    fields = _clean_customer(fields)
    if (
        "currency" in fields
        and fields["currency"] != customer.currency
        and customer.subscriptions.exists()
    ):
        refuse(
            _("The customer has subscriptions in %(currency)s: its currency cannot change.")
            % {"currency": customer.currency},
            "currency",
        )
    for name, value in fields.items():
        setattr(customer, name, value)
    customer.full_clean()
    customer.save()
    return customer


def devices_set(*, customer: Customer, seat_type: SeatType, count: int) -> DeployedDevices:
    """Record how many devices of a type the customer has deployed."""
    whole_number(
        count, field="count", message=_("A number of devices is a whole number, 0 or more.")
    )
    with transaction.atomic():
        devices, _created = DeployedDevices.objects.select_for_update().get_or_create(
            customer=customer, seat_type=seat_type, defaults={"count": count}
        )
        if devices.count != count:
            devices.count = count
            devices.save(update_fields=["count"])
    return devices
