"""Builders for the SEPA tests: a customer's mandate, another quarterly invoice of 129.60
(billing-rules example 6.1, like the `quarterly` fixture), the batch of 2026-01-17 submitted."""

from datetime import date
from decimal import Decimal

from billing.models import Invoice
from billing.services import billing_run
from catalog.models import Plan, SeatType
from payments import services
from payments.models import SepaBatch
from subscriptions import services as subscription_services
from tests.subscriptions.factories import CustomerFactory

IBAN = "DE89370400440532013000"
BIC = "COBADEFFXXX"


def mandate_for(customer, *, default=True, signed=date(2025, 12, 15)):
    return services.sepa_mandate_add(
        customer=customer,
        account_holder="Bernard Martin",
        iban=IBAN,
        bic=BIC,
        accepted=True,
        today=signed,
        make_default=default,
    )


def invoice_for(name: str) -> Invoice:
    """Another customer's quarterly invoice of 129.60, issued on 2026-01-01 like `quarterly`."""
    subscription = subscription_services.subscription_create(
        customer=CustomerFactory(name=name),
        plan=Plan.objects.get(code="device-seats"),
        start_date=date(2026, 1, 1),
        today=date(2026, 1, 1),
        seats={SeatType.objects.get(code="gateway"): 10},
        service_period_years=3,
        partner_discount_percent=Decimal("20"),
    ).subscription
    billing_run(day=date(2026, 1, 1))
    return Invoice.objects.get(subscription=subscription)


def submitted_batch(day=date(2026, 1, 17)) -> SepaBatch:
    batch = services.sepa_batch_create(day=day)
    assert batch is not None
    return services.sepa_batch_mark_submitted(batch=batch)
