"""A partner's own figures, for its portal page (partners.views.figures): its customers' live
subscriptions and seats, what it was invoiced month by month, what it owes and how late.

Only the partner's rows: subscriptions of the customers it manages, documents billed to its
billing account (reports.revenue's partner filter). A fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Sum

from catalog.models import SeatType
from partners.models import Partner
from reports.months import months_back
from reports.revenue import (
    AgedRow,
    RevenueFilters,
    RevenueMonth,
    aged_receivables,
    revenue_by_month,
)
from reports.selectors import MrrFilters, mrr_on
from subscriptions.models import Subscription

MONTHS_SHOWN = 12


@dataclass(frozen=True)
class SeatTotal:
    seat_type: SeatType
    seats: int


@dataclass(frozen=True)
class PartnerFigures:
    live_subscriptions: int
    seats: list[SeatTotal]
    months: list[RevenueMonth]  # the last 12 months, the current one included, newest first
    receivables: list[AgedRow]  # one row per currency (what it owes, by days past due)
    # "MRR at the price you pay": filled when the MRR definitions exist (None: not shown).
    mrr: dict[str, Decimal] | None = field(default=None)

    @property
    def currencies(self) -> list[str]:
        return sorted({row.currency for row in self.months})

    @property
    def open_balance(self) -> dict[str, Decimal]:
        return {row.currency: row.total for row in self.receivables}


def partner_figures(*, partner: Partner, today: date) -> PartnerFigures:
    live = Subscription.objects.filter(
        customer__partner_link__partner=partner, status__in=Subscription.LIVE_STATUSES
    )
    # The seat types with the seats held of each, in one query.
    seat_types = (
        SeatType.objects.filter(subscriptionseat__subscription__in=live)
        .annotate(held=Sum("subscriptionseat__quantity"))
        .order_by("code")
    )
    start = months_back(today, MONTHS_SHOWN)[0]
    filters = RevenueFilters(partner_id=partner.pk)
    return PartnerFigures(
        live_subscriptions=live.count(),
        seats=[SeatTotal(seat_type, seat_type.held) for seat_type in seat_types],
        months=list(reversed(revenue_by_month(start=start, end=today, filters=filters))),
        receivables=aged_receivables(on=today, by="partner", filters=filters),
        # Its subscriptions' MRR at the price it pays (None before the figures are built).
        mrr=mrr_on(today, MrrFilters(partner_id=partner.pk)) or None,
    )
