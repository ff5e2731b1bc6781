"""The revenue reports: invoiced, credited, collected, recognized and deferred revenue per month,
and the aged receivables by customer and by partner. The figures are reports/revenue.py's; here
they are only drawn and laid out in tables."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import date
from decimal import Decimal
from operator import attrgetter
from typing import Any, overload

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from core import clock
from core.pricing import ZERO
from reports import charts
from reports.months import month_end
from reports.revenue import (
    AgedRow,
    RevenueFilters,
    aged_receivables,
    partner_rows,
    revenue_by_month,
)
from reports.specs import ReportFilters, ReportResult
from reports.tables import Column, Table


def revenue_filters(filters: ReportFilters) -> RevenueFilters:
    return RevenueFilters(
        currency=filters.currency or None,
        partner_id=filters.partner.pk if filters.partner else None,
        plan_id=filters.plan.pk if filters.plan else None,
    )


def revenue(filters: ReportFilters) -> ReportResult:
    end = min(month_end(filters.end), clock.today())
    rows = revenue_by_month(start=filters.start, end=end, filters=revenue_filters(filters))
    pictures = []
    for currency in sorted({r.currency for r in rows}):
        mine = [r for r in rows if r.currency == currency]
        labels = charts.month_labels([r.month for r in mine])
        pictures.append(
            charts.bars(
                categories=labels,
                series=[
                    charts.Series(
                        _("Invoiced, net"),
                        [r.invoiced - r.credited for r in mine],
                        "series-invoiced",
                    ),
                    charts.Series(_("Recognized"), [r.recognized for r in mine], "series-3"),
                    charts.Series(_("Collected"), [r.collected for r in mine], "series-collected"),
                ],
                currency=currency,
                title=_("Invoiced, recognized and collected per month, %(currency)s")
                % {"currency": currency},
            )
        )
        pictures.append(
            charts.line_chart(
                categories=labels,
                series=[
                    charts.Series(
                        _("Deferred at the end of the month"),
                        [r.deferred for r in mine],
                        "series-5",
                    )
                ],
                currency=currency,
                title=_("Deferred revenue at the end of each month, %(currency)s")
                % {"currency": currency},
            )
        )
    table = Table(
        title=_("Revenue per month"),
        columns=[
            Column("month", _("Month"), "month"),
            Column("currency", _("Currency")),
            Column("invoiced", pgettext("amount", "Invoiced"), "money"),
            Column("credited", _("Credited"), "money"),
            Column("net", _("Invoiced, net"), "money"),
            Column("recognized", _("Recognized"), "money"),
            Column("deferred", _("Deferred at the month end"), "money"),
            Column("collected", _("Collected"), "money"),
        ],
        rows=[
            {
                "month": r.month,
                "currency": r.currency,
                "invoiced": r.invoiced,
                "credited": r.credited,
                "net": r.invoiced - r.credited,
                "recognized": r.recognized,
                "deferred": r.deferred,
                "collected": r.collected,
            }
            for r in rows
        ],
        filename=f"revenue_{filters.slug}.csv",
    )
    notes = [
        _(
            "Invoiced and credited: the net (before tax) of the invoices and credit notes issued "
            "in the month. Collected: the payments received in the month, tax included (a "
            "returned debit subtracts; customer credit spent is not counted twice)."
        ),
        _(
            "Recognized: each line's net spread day by day over the period it covers (a yearly "
            "invoice over its 365 days); deferred: what was invoiced and is not recognized yet "
            "at the end of the month's last day."
        ),
    ]
    return ReportResult(charts=pictures, tables=[table], notes=notes)


def aged(filters: ReportFilters) -> ReportResult:
    today = clock.today()
    day = min(month_end(filters.end), today)
    narrowed = revenue_filters(filters)
    tables = []
    pictures = []
    by_customer = aged_receivables(on=day, by="customer", filters=narrowed)
    for by, title, header, rows in (
        ("customer", _("Aged receivables by customer on %(day)s"), _("Customer"), by_customer),
        (
            "partner",
            _("Aged receivables by partner on %(day)s"),
            _("Partner"),
            partner_rows(by_customer),  # the same invoices, read once
        ),
    ):
        # The largest debts first: the page shows the first hundred, the CSV every party.
        # (Rows come by name: two stable sorts on plain attributes keep that order among equal
        # debts, at a fraction of a tuple key's cost for 100,000 rows.)
        found = sorted(rows, key=attrgetter("total"), reverse=True)
        found.sort(key=attrgetter("currency"))
        if by == "customer":
            pictures.extend(_buckets_chart(found, day))
        tables.append(
            Table(
                title=title % {"day": day.isoformat()},
                columns=[
                    Column("party", header),
                    Column("currency", _("Currency")),
                    Column("not_due", _("Not due"), "money"),
                    Column("days_1_30", _("1–30 days"), "money"),
                    Column("days_31_60", _("31–60 days"), "money"),
                    Column("days_61_90", _("61–90 days"), "money"),
                    Column("over_90", _("Over 90 days"), "money"),
                    Column("total", _("Total"), "money"),
                ],
                rows=_aged_rows(found, by),
                filename=f"aged-receivables-by-{by}_{day.isoformat()}.csv",
                shown=SHOWN,
            )
        )
    notes = [
        _(
            "What each party owes at the end of the day: invoices' totals, tax included, less "
            "the payments received and the credit notes issued against them by then; written-off "
            "invoices are still owed. Days late count from the due date. By partner: the "
            "invoices addressed to the partners' billing accounts."
        )
    ]
    return ReportResult(charts=pictures, tables=tables, notes=notes)


SHOWN = 100
BUCKETS = ("not_due", "days_1_30", "days_31_60", "days_61_90", "over_90")


def _bucket_labels() -> list[str]:
    return [_("Not due"), _("1–30 days"), _("31–60 days"), _("61–90 days"), _("Over 90 days")]


def _buckets_chart(rows: list[AgedRow], day: date) -> list[Any]:
    # One pass over the rows (one per customer owing: 100,000 at the benchmark's size).
    totals: dict[str, list[Decimal]] = {}
    for r in rows:
        owed = totals.get(r.currency)
        if owed is None:
            owed = totals[r.currency] = [ZERO] * len(BUCKETS)  # in BUCKETS' order
        owed[0] += r.not_due
        owed[1] += r.days_1_30
        owed[2] += r.days_31_60
        owed[3] += r.days_61_90
        owed[4] += r.over_90
    pictures = []
    for currency in sorted(totals):
        pictures.append(
            charts.bars(
                categories=_bucket_labels(),
                series=[charts.Series(_("Owed"), totals[currency], "series-overdue")],
                currency=currency,
                title=_("Owed by days late on %(day)s, %(currency)s")
                % {"day": day.isoformat(), "currency": currency},
            )
        )
    return pictures


class _Rows(Sequence):
    """The table's rows made when read: a page reads its first hundred, the CSV all of them
    (a table of 100,000 customers' debts is not built twice over)."""

    def __init__(self, items: list[AgedRow], row: Callable[[AgedRow], dict[str, Any]]) -> None:
        self.items, self.row = items, row

    def __len__(self) -> int:
        return len(self.items)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [self.row(item) for item in self.items[index]]
        return self.row(self.items[index])

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return map(self.row, self.items)


def _aged_rows(rows: list[AgedRow], by: str) -> _Rows:
    """The table's rows; each party links to its invoices (a customer) or its page (a partner).
    The links are formatted from one reversed URL: a table can hold 100,000 customers."""
    if by == "customer":
        link = reverse("admin:billing_invoice_changelist") + "?customer__id__exact={}"
    else:
        link = reverse("admin:partners_partner_change", args=[0]).replace("/0/", "/{}/")

    def row(aged: AgedRow) -> dict[str, Any]:
        return {
            "party": (aged.party_name, link.format(aged.party_id)),
            "currency": aged.currency,
            **{bucket: getattr(aged, bucket) for bucket in BUCKETS},
            "total": aged.total,
        }

    return _Rows(rows, row)
