"""The reports of the reports section: each one a function of the filters (months, currency,
plan, partner) returning its charts and tables. The pages (reports/views.py) list `REPORTS`,
show a report's filters, charts and tables, and download any of its tables as CSV: adding a
report is adding an entry here.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Q
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from reports import charts
from reports.dashboard import ZERO, monthly_figures
from reports.months import month_end
from reports.report_mrr import mrr_breakdown, mrr_movements
from reports.report_revenue import aged, revenue
from reports.specs import PALETTE, ReportFilters, ReportResult, ReportSpec
from reports.tables import Column, Table
from subscriptions.models import Subscription

# Invoicing -------------------------------------------------------------------------------------


def invoicing(filters: ReportFilters) -> ReportResult:
    """Net invoiced and credited per month and currency (before tax), from issued documents."""
    months = filters.months
    figures = monthly_figures(
        since=filters.start,
        until=filters.end,
        currency=filters.currency,
        plan=filters.plan,
        partner=filters.partner,
        with_payments=False,
    )
    labels = charts.month_labels(months)
    pictures, rows = [], []
    totals: dict[str, Decimal] = {"invoiced": ZERO, "credited": ZERO, "net": ZERO}
    counts = {"invoices": 0, "credit_notes": 0}
    for currency, one in figures.items():
        pictures.append(
            charts.stacked_bars(
                categories=labels,
                series=[
                    charts.Series(
                        pgettext("amount", "Invoiced"),
                        [one.invoiced[m] for m in months],
                        "series-invoiced",
                    ),
                    charts.Series(
                        _("Credited"), [-one.credited[m] for m in months], "series-credited"
                    ),
                ],
                line=charts.Series(
                    _("Net"), [one.invoiced[m] - one.credited[m] for m in months], "series-net"
                ),
                currency=currency,
                title=_("Invoiced and credited per month, %(currency)s") % {"currency": currency},
            )
        )
        for m in months:
            row: dict[str, Any] = {
                "month": m,
                "currency": currency,
                "invoices": one.invoices[m],
                "invoiced": one.invoiced[m],
                "credit_notes": one.credit_notes[m],
                "credited": one.credited[m],
                "net": one.invoiced[m] - one.credited[m],
            }
            rows.append(row)
            for key in totals:
                totals[key] += row[key]
            for key in counts:
                counts[key] += row[key]
    if not figures:
        pictures.append(
            charts.stacked_bars(categories=[], series=[], currency="", title=_("Invoicing"))
        )
    # Totals only within one currency: amounts of two currencies are never added.
    footer = (
        {"month": _("Total"), "currency": next(iter(figures)), **totals, **counts}
        if len(figures) == 1
        else None
    )
    table = Table(
        title=_("Invoiced and credited per month"),
        columns=[
            Column("month", _("Month"), "month"),
            Column("currency", _("Currency")),
            Column("invoices", _("Invoices"), "int"),
            Column("invoiced", _("Invoiced, net"), "money"),
            Column("credit_notes", _("Credit notes"), "int"),
            Column("credited", _("Credited, net"), "money"),
            Column("net", _("Net"), "money"),
        ],
        rows=rows,
        footer=footer,
        filename=f"invoicing_{filters.slug}.csv",
    )
    notes = [
        _(
            "Issued invoices and credit notes by issue date, net of discounts and before tax. "
            "Filtered by partner: what is invoiced to the partner's account."
        )
    ]
    return ReportResult(charts=pictures, tables=[table], notes=notes)


# Receivables -----------------------------------------------------------------------------------


def receivables(filters: ReportFilters) -> ReportResult:
    """Billed (tax included), collected, and owed at each month end, per currency."""
    months = filters.months
    figures = monthly_figures(
        until=filters.end, currency=filters.currency, plan=filters.plan, partner=filters.partner
    )
    labels = charts.month_labels(months)
    pictures, rows = [], []
    for currency, one in figures.items():
        owed = [one.receivable_at_end_of(m) for m in months]
        pictures.append(
            charts.bars(
                categories=labels,
                series=[
                    charts.Series(
                        _("Billed, tax included"),
                        [one.billed_gross[m] - one.credited_gross[m] for m in months],
                        "series-invoiced",
                    ),
                    charts.Series(
                        _("Collected"), [one.collected[m] for m in months], "series-collected"
                    ),
                ],
                currency=currency,
                title=_("Billed and collected per month, %(currency)s") % {"currency": currency},
            )
        )
        pictures.append(
            charts.line_chart(
                categories=labels,
                series=[charts.Series(_("Owed at the end of the month"), owed, "series-overdue")],
                currency=currency,
                title=_("Receivables at the end of each month, %(currency)s")
                % {"currency": currency},
            )
        )
        for m, balance in zip(months, owed, strict=True):
            rows.append(
                {
                    "month": m,
                    "currency": currency,
                    "billed": one.billed_gross[m],
                    "credited": one.credited_gross[m],
                    "collected": one.collected[m],
                    "receivable": balance,
                }
            )
    if not figures:
        pictures.append(charts.bars(categories=[], series=[], currency="", title=_("Receivables")))
    table = Table(
        title=_("Billed, collected and owed per month"),
        columns=[
            Column("month", _("Month"), "month"),
            Column("currency", _("Currency")),
            Column("billed", _("Invoiced, tax included"), "money"),
            Column("credited", _("Credited, tax included"), "money"),
            Column("collected", _("Collected"), "money"),
            Column("receivable", _("Owed at the end of the month"), "money"),
        ],
        rows=rows,
        filename=f"receivables_{filters.slug}.csv",
    )
    notes = [
        _(
            "Owed at the end of a month: every invoice issued until then, tax included, less "
            "its credit notes and the payments received until then (a returned direct debit "
            "counts back). Written-off invoices are still owed."
        )
    ]
    return ReportResult(charts=pictures, tables=[table], notes=notes)


# Active subscriptions --------------------------------------------------------------------------


def active_subscriptions(filters: ReportFilters) -> ReportResult:
    """Subscriptions live on the last day of each month, per plan: started on or before that
    day, not yet ended. One query, a count per month, however many subscriptions."""
    months = filters.months
    ends = [month_end(m) for m in months]
    live = Subscription.objects.all()
    if filters.currency:
        live = live.filter(currency=filters.currency)
    if filters.plan is not None:
        live = live.filter(plan=filters.plan)
    if filters.partner is not None:
        live = live.filter(customer__partner_link__partner=filters.partner)
    # A subscription cancelled before it started never lived (its end is not after its start).
    live = live.exclude(end_date__lte=F("start_date"))
    counts = {
        f"m{i}": Count(
            "id",
            filter=Q(start_date__lte=day) & (Q(end_date__isnull=True) | Q(end_date__gt=day)),
        )
        for i, day in enumerate(ends)
    }
    rows_by_plan: list[dict[str, Any]] = [
        dict(row)
        for row in live.values("plan_id", "plan__code", "plan__name", "plan__name_fr")
        .annotate(**counts)
        .order_by("plan__code")
    ]
    plans = [r for r in rows_by_plan if any(r[f"m{i}"] for i in range(len(months)))]
    # The plan's name in the page's language, as catalog.models.Localized reads it.
    french = (translation.get_language() or "")[:2] == "fr"
    names = {
        r["plan__code"]: (r["plan__name_fr"] if french and r["plan__name_fr"] else r["plan__name"])
        for r in plans
    }
    series = [
        charts.Series(
            names[r["plan__code"]],
            [Decimal(r[f"m{i}"]) for i in range(len(months))],
            PALETTE[n % len(PALETTE)],
        )
        for n, r in enumerate(plans)
    ]
    picture = charts.stacked_bars(
        categories=charts.month_labels(months) if plans else [],
        series=series,
        currency="",
        title=_("Subscriptions live at the end of each month, per plan"),
    )
    rows = []
    for i, (m, day) in enumerate(zip(months, ends, strict=True)):
        row: dict = {"month": m, "day": day}
        for r in plans:
            row[r["plan__code"]] = r[f"m{i}"]
        row["total"] = sum(r[f"m{i}"] for r in plans)
        rows.append(row)
    table = Table(
        title=_("Subscriptions live at the end of each month"),
        columns=[
            Column("month", _("Month"), "month"),
            Column("day", _("On"), "date"),
            *(Column(r["plan__code"], names[r["plan__code"]], "int") for r in plans),
            Column("total", _("Total"), "int"),
        ],
        rows=rows,
        filename=f"active-subscriptions_{filters.slug}.csv",
    )
    notes = [
        _(
            "A subscription counts from its start date until its end date (excluded), whatever "
            "its billing. Filtered by partner: the subscriptions of the partner's customers."
        )
    ]
    return ReportResult(charts=[picture], tables=[table], notes=notes)


REPORTS: dict[str, ReportSpec] = {
    "mrr": ReportSpec(
        gettext_lazy("MRR and its movements"),
        gettext_lazy(
            "Monthly recurring revenue per month and why it moved (new, expansion, "
            "reactivation, contraction, churn), with ARR, ARPU, churn and retention rates."
        ),
        mrr_movements,
    ),
    "mrr-breakdown": ReportSpec(
        gettext_lazy("MRR by plan, partner and country"),
        gettext_lazy("The MRR at the end of the last month, and day by day over the months."),
        mrr_breakdown,
    ),
    "revenue": ReportSpec(
        gettext_lazy("Revenue"),
        gettext_lazy(
            "Invoiced, credited, collected, recognized and deferred revenue per month and "
            "currency, before tax (collected: tax included)."
        ),
        revenue,
    ),
    "aged-receivables": ReportSpec(
        gettext_lazy("Aged receivables"),
        gettext_lazy(
            "What each customer and partner owes at the end of the last month (or today), by "
            "days late: not due, 1–30, 31–60, 61–90, over 90."
        ),
        aged,
    ),
    "invoicing": ReportSpec(
        gettext_lazy("Invoicing"),
        gettext_lazy("Net invoiced and credited per month and currency, before tax."),
        invoicing,
    ),
    "receivables": ReportSpec(
        gettext_lazy("Collections and receivables"),
        gettext_lazy("Billed and collected per month, and what is owed at each month end."),
        receivables,
    ),
    "active-subscriptions": ReportSpec(
        gettext_lazy("Active subscriptions"),
        gettext_lazy("Subscriptions live at the end of each month, per plan."),
        active_subscriptions,
    ),
}
