"""`contexts_for`, the one way to load what the engine prices: many subscriptions at once give
each the context it has alone, in two queries; the inputs follow the models."""

from dataclasses import fields
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import Plan, SeatType
from subscriptions import services
from subscriptions.charges import PriceBook, context_of, contexts_for
from subscriptions.charges.inputs import DiscountRule
from subscriptions.models import SubscriptionDiscount, SubscriptionEvent
from subscriptions.timeline import Entry
from tests.subscriptions.factories import CustomerFactory

pytestmark = pytest.mark.django_db

# Columns of the models that pricing does not read, each with why. A column added to the models
# fails the tests below until it is either read by the engine or listed here.
NOT_PRICED = {
    SubscriptionDiscount: {
        "subscription": "the context's own",
        "source": "where the discount came from, for people (partner, coupon, campaign)",
        "currency": "the subscription's",
        "coupon_code": "which code was redeemed, for people",
    },
    SubscriptionEvent: {
        "subscription": "the context's own",
        "recorded_at": "when it was written, not when it takes effect",
        "actor": "who made the change",
        "channel": "through which door",
    },
}


def _columns(model) -> set[str]:
    return {f.attname.removesuffix("_id") for f in model._meta.concrete_fields}


def test_the_discount_rules_read_every_pricing_column_of_the_discounts():
    read = {f.name.removesuffix("_id") for f in fields(DiscountRule)}
    assert read | set(NOT_PRICED[SubscriptionDiscount]) == _columns(SubscriptionDiscount)
    assert not read & set(NOT_PRICED[SubscriptionDiscount])


def test_the_timeline_entries_read_every_pricing_column_of_the_events():
    read = {f.name.removesuffix("_id") for f in fields(Entry)}
    assert read | set(NOT_PRICED[SubscriptionEvent]) == _columns(SubscriptionEvent)
    assert not read & set(NOT_PRICED[SubscriptionEvent])


def _sold(demo_catalog):
    seats = SeatType.objects.get(code="gateway")
    sold = [
        services.subscription_create(
            customer=CustomerFactory(),
            plan=Plan.objects.get(code="device-seats"),
            start_date=date(2026, 1, 1),
            today=date(2026, 1, 1),
            seats={seats: 3},
            partner_discount_percent=Decimal("10"),
            partner_discount_label="Partner",
        ).subscription,
        services.subscription_create(
            customer=CustomerFactory(),
            plan=Plan.objects.get(code="office-24m"),
            start_date=date(2026, 2, 1),
            today=date(2026, 2, 1),
        ).subscription,
    ]
    services.seats_add(subscription=sold[0], seat_type=seats, quantity=2, today=date(2026, 3, 1))
    return sold


def test_many_subscriptions_loaded_at_once_have_the_contexts_they_have_alone(demo_catalog):
    sold = _sold(demo_catalog)
    book = PriceBook.load_all()
    with CaptureQueriesContext(connection) as queries:
        together = contexts_for(sold, book=book)
    # The timelines, the discount rules and the product contracts, whatever the number
    assert len(queries) == 3
    for subscription in sold:
        alone = context_of(subscription, book=book)
        loaded = together[subscription.pk]
        assert (loaded.anchor, loaded.currency) == (alone.anchor, alone.currency)
        assert loaded.events == alone.events
        assert loaded.discounts == alone.discounts
    assert [e.kind for e in together[sold[0].pk].events] == ["created", "seats_added"]
    [partner] = together[sold[0].pk].discounts
    assert (partner.label, partner.percentage) == ("Partner", Decimal("10.00"))
    assert together[sold[1].pk].discounts == []
