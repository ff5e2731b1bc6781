"""Rebuilding the derived figures: MRR segments from the timelines, monthly movements from the
segments. Both are idempotent (a subscription's segments are replaced whole, a month's row is
upserted), so a job killed half-way or run twice leaves the same rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from dateutil.relativedelta import relativedelta
from django.db import transaction
from django.db.models import Min, Q
from django.utils import timezone

from reports import mrr
from reports.models import MrrMonth, MrrRefresh, MrrSegment
from reports.months import month_start, months_between
from reports.selectors import movements_by_month
from subscriptions.charges import PriceBook, contexts_for
from subscriptions.models import Subscription, SubscriptionEvent

CHUNK = 2000
# Segments reach this far ahead: scheduled ends and changes show in the coming months' MRR.
HORIZON = relativedelta(years=1)


@dataclass(frozen=True)
class RefreshReport:
    subscriptions: int
    segments: int
    months: int
    full: bool


def _chunks(ids: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


def mrr_segments_rebuild(*, subscription_ids: Sequence[int], today: dt.date) -> int:
    """Replace the MRR segments of these subscriptions (chunk by chunk, each in a
    transaction); returns how many segments they have now."""
    created = 0
    book = PriceBook()
    horizon = today + HORIZON
    for ids in _chunks(sorted(subscription_ids), CHUNK):
        subscriptions = list(
            Subscription.objects.filter(pk__in=ids).select_related(
                "customer__partner_link", "bill_to__partner_account"
            )
        )
        contexts = contexts_for(subscriptions, book=book, language="en")
        rows = [
            MrrSegment(
                subscription_id=s.pk,
                customer_id=s.customer_id,
                partner_id=_partner_of(s),
                plan_id=segment.plan_id,
                country=s.customer.country,
                currency=s.currency,
                start=segment.start,
                end=segment.end,
                amount=segment.amount,
            )
            for s in subscriptions
            for segment in mrr.segments(contexts[s.pk], horizon=horizon)
        ]
        with transaction.atomic():
            MrrSegment.objects.filter(subscription_id__in=ids).delete()
            MrrSegment.objects.bulk_create(rows, batch_size=5000)
        created += len(rows)
    return created


def _partner_of(subscription: Subscription) -> int | None:
    link = getattr(subscription.customer, "partner_link", None)
    if link is not None:
        return link.partner_id
    account = subscription.bill_to
    partner = getattr(account, "partner_account", None) if account is not None else None
    return partner.pk if partner is not None else None


def mrr_months_rebuild(*, today: dt.date, since: dt.date | None = None) -> int:
    """Store the movements of every closed month (before today's), from `since` or the first
    segment's month, in one read; returns how many month rows were written."""
    first = since or MrrSegment.objects.aggregate(first=Min("start"))["first"]
    if first is None:
        return 0
    current = month_start(today)
    months = [month for month in months_between(first, current) if month < current]
    history = movements_by_month(months)
    written = 0
    with transaction.atomic():
        MrrMonth.objects.filter(month__in=months).exclude(currency__in=list(history)).delete()
        for currency, moved_by_month in history.items():
            for month, moved in zip(months, moved_by_month, strict=True):
                MrrMonth.objects.update_or_create(
                    month=month,
                    currency=currency,
                    defaults={
                        "mrr_start": moved.start,
                        "mrr_end": moved.end,
                        **{kind: moved.amounts[kind] for kind in mrr.KINDS},
                        "customers_start": moved.customers_start,
                        "customers_end": moved.customers_end,
                        "movers": moved.customers,
                    },
                )
                written += 1
    return written


def mrr_refresh(*, today: dt.date, full: bool = False) -> RefreshReport:
    """Bring the MRR figures up to date: everything once a day (or when `full`), otherwise only
    the subscriptions whose timeline or row changed since the last refresh. Safe to run twice
    and in two workers at once (the second waits for the first's claim, then finds less to do).
    """
    started = timezone.now()
    with transaction.atomic():
        MrrRefresh.objects.get_or_create(pk=1)
        # One refresh at a time: a second waits here, then finds less to do.
        refresh = MrrRefresh.objects.select_for_update().get(pk=1)
        full = full or refresh.full_on != today or refresh.refreshed_at is None
        if full:
            ids = list(Subscription.objects.values_list("pk", flat=True))
        else:
            since = refresh.refreshed_at
            ids = list(
                Subscription.objects.filter(
                    Q(updated_at__gte=since)
                    | Q(
                        pk__in=SubscriptionEvent.objects.filter(recorded_at__gte=since).values(
                            "subscription_id"
                        )
                    )
                ).values_list("pk", flat=True)
            )
        segments = mrr_segments_rebuild(subscription_ids=ids, today=today)
        if full:
            MrrSegment.objects.exclude(
                subscription_id__in=Subscription.objects.values("pk")
            ).delete()
            months = mrr_months_rebuild(today=today)
        else:
            # A change back-dated into a closed month moves that month's figures too.
            earliest = SubscriptionEvent.objects.filter(
                recorded_at__gte=refresh.refreshed_at
            ).aggregate(first=Min("effective_date"))["first"]
            months = mrr_months_rebuild(today=today, since=earliest) if earliest else 0
        MrrRefresh.objects.filter(pk=refresh.pk).update(
            refreshed_at=started, full_on=today if full else refresh.full_on
        )
    return RefreshReport(len(ids), segments, months, full)
