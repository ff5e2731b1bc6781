"""The demo's usage history: Studio Lumière's API calls (the metered offer, billing-rules §12)
sent through the ingestion service as an application would, and its prepaid credits used and
bought (billing-rules §8). Idempotent: the calls' transaction ids are fixed (a second seed is a
retry, stored once), consumptions are found by their reference, the top-up by its day."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from core import clock
from core.clock import billing_zone
from subscriptions import services
from subscriptions.models import CreditEntry, Subscription, SubscriptionContract

# Calls a day in November (14,250 in all: 4,250 above the free 10,000, so 8.50 on the December
# invoice), then a steady 600 a day in December.
NOVEMBER_DAILY = 475
DECEMBER_DAILY = 600
BATCH = 1000


def _calls(subscription: Subscription, day: date, count: int) -> None:
    start = datetime.combine(day, time(8), tzinfo=billing_zone())
    for first in range(0, count, BATCH):
        events = [
            {
                "customer": subscription.customer_id,
                "subscription": subscription.pk,
                "transaction_id": f"demo-{subscription.pk}-{day.isoformat()}-{n}",
                "code": "api_call",
                "timestamp": start + timedelta(seconds=40 * n),
                "properties": {"endpoint": "/v1/render" if n % 3 else "/v1/upload"},
            }
            for n in range(first, min(first + BATCH, count))
        ]
        # Sent the evening of the day they happened (received then, not when seeded).
        services.usage_events_record(
            events=events, received=datetime.combine(day, time(20), tzinfo=billing_zone())
        )


def seed_usage(offers: dict[str, Subscription], today: date | None = None) -> None:
    today = today or clock.today()
    metered = offers["api-metered-monthly"]
    day = max(metered.start_date, today - timedelta(days=60))
    while day < today:
        _calls(metered, day, NOVEMBER_DAILY if day.month == 11 else DECEMBER_DAILY)
        day += timedelta(days=1)

    prepaid = offers["api-prepaid-monthly"]
    held = SubscriptionContract.objects.filter(subscription=prepaid).first()
    if held is None:
        return
    start = prepaid.start_date
    # 300 credits on the 4th, 11th and 18th of each month (and the 25th of the first, after
    # buying 500 more on the 20th): 1,000 are granted a month, what is left expires.
    day = start
    while day < today:
        first_month = (day.year, day.month) == (start.year, start.month)
        if day.day in (4, 11, 18) or (first_month and day.day == 25):
            reference = f"demo-{day.isoformat()}"
            if not CreditEntry.objects.filter(
                subscription_contract=held, reference=reference
            ).exists():
                services.credits_consume(
                    subscription_contract=held, amount=Decimal(300), day=day, reference=reference
                )
        if (
            first_month
            and day.day == 20
            and not CreditEntry.objects.filter(
                subscription_contract=held, kind=CreditEntry.Kind.TOPUP
            ).exists()
        ):
            services.credits_topup(
                subscription_contract=held, credits=Decimal(500), day=day, channel="demo"
            )
        day += timedelta(days=1)
