"""A realistic data set for the benchmark, written in bulk (the services would take hours).

N customers, each with one subscription, spread over the demo plans (monthly, quarterly and
yearly; EUR and CAD; seats and flat prices), seat types, partners and anchors. Every
subscription has a period starting on the benchmark day D, so the daily run on D bills them
all; about a fifth also reach their commitment end on D and renew; some added seats during the
last period; some asked to cancel (a few end on D, others later). The rows are those the
services write — customers, subscriptions, seats, discounts, timeline entries — with the
periods before D already billed (next_billing_date = D).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.db import connection, transaction

from catalog.models import Plan, SeatType
from demo.catalog import seed_catalog
from demo.partners import seed_partners
from partners.models import Partner, PartnerCustomer
from subscriptions.models import (
    Customer,
    Subscription,
    SubscriptionDiscount,
    SubscriptionEvent,
    SubscriptionSeat,
)

DAY = date(2027, 1, 1)
BATCH = 5000


@dataclass(frozen=True)
class Shape:
    plan: str
    share: int  # weight out of the total
    months: int  # billing period in months
    commitment_months: int  # commitment length from the anchor (0: none)


SHAPES = [
    Shape("device-seats", 40, 3, 12),  # partners' customers, seats by type, quarterly
    Shape("office-24m", 20, 1, 24),
    Shape("hosting-a", 15, 1, 0),
    Shape("hosting-b", 10, 1, 0),
    Shape("cloud-backup-monthly", 10, 1, 12),
    Shape("platform-yearly", 5, 12, 24),
]


def _anchor(rng: random.Random, shape: Shape, renew: bool) -> date:
    """An anchor with a period boundary on DAY; `renew`: the commitment also ends on DAY."""
    if renew and shape.commitment_months:
        return DAY - relativedelta(months=shape.commitment_months)
    periods_back = rng.randint(1, 8 if shape.months < 12 else 1)
    return DAY - relativedelta(months=shape.months * periods_back)


def generate(n: int, seed: int = 20270101) -> dict:
    """Write n customers and subscriptions. Expects an empty database (migrated)."""
    rng = random.Random(seed)
    with transaction.atomic():
        seed_catalog()
        seed_partners()
    plans = {p.code: p for p in Plan.objects.select_related("term")}
    seat_types = list(SeatType.objects.order_by("code"))
    partners = list(Partner.objects.order_by("code"))
    weights = [s.share for s in SHAPES]
    stats = {"subscriptions": 0, "renewing": 0, "seats_added": 0, "cancelling": 0, "ending": 0}
    next_id = _next_ids()
    for start in range(0, n, BATCH):
        size = min(BATCH, n - start)
        customers, subscriptions, seats, discounts, events, links = [], [], [], [], [], []
        for _ in range(size):
            shape = rng.choices(SHAPES, weights)[0]
            plan = plans[shape.plan]
            renew = rng.random() < 0.2
            anchor = _anchor(rng, shape, renew)
            trial_days = plan.trial_count if plan.trial_unit == "day" else 0
            start_date = anchor - relativedelta(days=trial_days)
            commitment_end = None
            if shape.commitment_months:
                commitment_end = anchor + relativedelta(months=shape.commitment_months)
                while commitment_end < DAY:  # renewed before: a later commitment of the same term
                    commitment_end += relativedelta(months=shape.commitment_months)
            current_start = DAY - relativedelta(months=shape.months)
            customer_id = next_id["customer"]
            next_id["customer"] += 1
            subscription_id = next_id["subscription"]
            next_id["subscription"] += 1
            currency = plan.currency
            customers.append(
                Customer(
                    id=customer_id,
                    name=f"Customer {customer_id:07d}",
                    email=f"billing{customer_id}@customers.example",
                    address_line1=f"{customer_id % 300 + 1} rue du Commerce",
                    postal_code=f"{75000 + customer_id % 20:05d}",
                    city="Paris" if currency == "EUR" else "Toronto",
                    country="FR" if currency == "EUR" else "CA",
                    locale="fr" if rng.random() < 0.5 else "en",
                    currency=currency,
                )
            )
            partner = None
            if shape.plan == "device-seats":
                partner = partners[customer_id % len(partners)]
                links.append(PartnerCustomer(partner=partner, customer_id=customer_id))
            cancelling = rng.random() < 0.05
            end_date = None
            if cancelling:
                end_date = DAY if rng.random() < 0.4 else DAY + relativedelta(months=shape.months)
                stats["cancelling"] += 1
                stats["ending"] += end_date == DAY
            stats["renewing"] += bool(
                renew and commitment_end == DAY and not (end_date and end_date <= DAY)
            )
            subscriptions.append(
                Subscription(
                    id=subscription_id,
                    customer_id=customer_id,
                    # A partner's sale is invoiced to the partner (billing-rules §9).
                    bill_to_id=partner.account_id if partner is not None else None,
                    plan=plan,
                    term=plan.term,
                    status=Subscription.Status.PENDING_CANCELLATION
                    if cancelling
                    else Subscription.Status.ACTIVE,
                    currency=currency,
                    start_date=start_date,
                    anchor_date=anchor,
                    trial_end=anchor if trial_days else None,
                    current_period_start=current_start,
                    current_period_end=DAY,
                    commitment_start=commitment_end - relativedelta(months=shape.commitment_months)
                    if commitment_end
                    else None,
                    commitment_end=commitment_end,
                    renewal_date=commitment_end or DAY,
                    end_date=end_date,
                    next_billing_date=DAY,
                    auto_renew=True,
                    po_reference=f"PO-{subscription_id}" if rng.random() < 0.3 else "",
                    service_period_years=1 if shape.plan == "device-seats" else None,
                )
            )
            seat_data = {}
            if shape.plan == "device-seats":
                for seat_type in rng.sample(seat_types, rng.randint(1, len(seat_types))):
                    quantity = rng.randint(1, 40)
                    seat_data[seat_type.pk] = quantity
            created = {
                "plan": plan.pk,
                "term": plan.term_id,
                "seats": {str(k): v for k, v in seat_data.items()},
                "options": {},
                "addons": {},
                "commitment_start": (
                    commitment_end - relativedelta(months=shape.commitment_months)
                ).isoformat()
                if commitment_end
                else None,
                "commitment_end": commitment_end.isoformat() if commitment_end else None,
                "service_years": None,
                "po_reference": "",
                "pending_fulfilment": False,
            }
            events.append(
                SubscriptionEvent(
                    subscription_id=subscription_id,
                    kind="created",
                    effective_date=start_date,
                    data=created,
                )
            )
            if trial_days:
                events.append(
                    SubscriptionEvent(
                        subscription_id=subscription_id, kind="trial_ends", effective_date=anchor
                    )
                )
            final_seats = dict(seat_data)
            if seat_data and rng.random() < 0.2:
                seat_type_id = next(iter(seat_data))
                added = rng.randint(1, 5)
                final_seats[seat_type_id] += added
                events.append(
                    SubscriptionEvent(
                        subscription_id=subscription_id,
                        kind="seats_added",
                        effective_date=DAY - relativedelta(days=rng.randint(5, 60)),
                        data={
                            "seat_type": seat_type_id,
                            "added": added,
                            "quantity": final_seats[seat_type_id],
                        },
                    )
                )
                stats["seats_added"] += 1
            if cancelling:
                events.append(
                    SubscriptionEvent(
                        subscription_id=subscription_id,
                        kind="cancellation",
                        effective_date=end_date,
                        data={
                            "requested_on": (DAY - relativedelta(days=20)).isoformat(),
                            "penalty": None,
                            "policy": "allowed",
                            "rule": "",
                            "commitment_end": end_date.isoformat(),
                        },
                    )
                )
            for seat_type_id, quantity in final_seats.items():
                seats.append(
                    SubscriptionSeat(
                        subscription_id=subscription_id,
                        seat_type_id=seat_type_id,
                        quantity=quantity,
                    )
                )
            if partner is not None and partner.discount_percent:
                discounts.append(
                    SubscriptionDiscount(
                        subscription_id=subscription_id,
                        source="partner",
                        label=f"Partner discount ({partner.name})",
                        percentage=partner.discount_percent,
                        currency=currency,
                        sequence=SubscriptionDiscount.PARTNER_SEQUENCE,
                        first_period_start=anchor,
                    )
                )
            if shape.plan == "office-24m" and rng.random() < 0.3:
                discounts.append(
                    SubscriptionDiscount(
                        subscription_id=subscription_id,
                        source="plan",
                        label="Loyalty 5 %",
                        percentage=Decimal("5.00"),
                        currency=currency,
                        sequence=100,
                        first_period_start=anchor,
                    )
                )
        with transaction.atomic():
            Customer.objects.bulk_create(customers, batch_size=BATCH)
            PartnerCustomer.objects.bulk_create(links, batch_size=BATCH)
            Subscription.objects.bulk_create(subscriptions, batch_size=BATCH)
            SubscriptionEvent.objects.bulk_create(events, batch_size=BATCH)
            SubscriptionSeat.objects.bulk_create(seats, batch_size=BATCH)
            SubscriptionDiscount.objects.bulk_create(discounts, batch_size=BATCH)
        stats["subscriptions"] += size
    _reset_sequences()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return stats


def _next_ids() -> dict[str, int]:
    return {
        "customer": (Customer.objects.order_by("-id").values_list("id", flat=True).first() or 0)
        + 1,
        "subscription": (
            Subscription.objects.order_by("-id").values_list("id", flat=True).first() or 0
        )
        + 1,
    }


def _reset_sequences() -> None:
    """Explicit ids were inserted: move the id sequences past them."""
    with connection.cursor() as cursor:
        for table in ("subscriptions_customer", "subscriptions_subscription"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT COALESCE(MAX(id), 1) FROM {table}))"  # noqa: S608
            )
