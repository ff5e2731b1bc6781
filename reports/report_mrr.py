"""The MRR reports: its movements month by month with the rates, and its breakdown by plan,
partner and country. The figures are reports/selectors.py's; here they are only drawn and laid
out in tables."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from core import clock
from reports import charts, mrr, selectors
from reports.months import month_end
from reports.specs import ReportFilters, ReportResult
from reports.tables import Column, Table

HUNDRED = Decimal(100)


def movement_labels() -> dict[str, str]:
    return {
        mrr.NEW: _("New"),
        mrr.EXPANSION: _("Expansion"),
        mrr.REACTIVATION: _("Reactivation"),
        mrr.CONTRACTION: _("Contraction"),
        mrr.CHURN: _("Churn"),
    }


def mrr_filters(filters: ReportFilters) -> selectors.MrrFilters:
    return selectors.MrrFilters(
        currency=filters.currency or None,
        plan_id=filters.plan.pk if filters.plan else None,
        partner_id=filters.partner.pk if filters.partner else None,
    )


def percent(ratio: Decimal | None) -> Decimal | None:
    return None if ratio is None else ratio * HUNDRED


def movement_url(month: date, currency: str, kind: str, filters: ReportFilters) -> str:
    query = {"month": f"{month:%Y-%m}", "currency": currency, "kind": kind}
    if filters.plan:
        query["plan"] = str(filters.plan.pk)
    if filters.partner:
        query["partner"] = str(filters.partner.pk)
    return reverse("reports:mrr-movements") + "?" + urlencode(query)


def movements_chart(currency: str, figures: list[selectors.MonthFigures]) -> Any:
    labels = movement_labels()
    down = {mrr.CONTRACTION, mrr.CHURN}
    return charts.stacked_bars(
        categories=charts.month_labels([f.month for f in figures]),
        series=[
            charts.Series(
                labels[kind],
                [
                    -f.movements.amounts[kind] if kind in down else f.movements.amounts[kind]
                    for f in figures
                ],
                f"series-{kind}",
            )
            for kind in mrr.KINDS
        ],
        line=charts.Series(_("MRR"), [f.movements.end for f in figures], "series-mrr"),
        currency=currency,
        title=_("MRR and its movements per month, %(currency)s") % {"currency": currency},
    )


def mrr_movements(filters: ReportFilters) -> ReportResult:
    figures = selectors.monthly_figures(filters.months, mrr_filters(filters), today=clock.today())
    labels = movement_labels()
    rows: list[dict[str, Any]] = []
    pictures = []
    for currency, months in figures.items():
        pictures.append(movements_chart(currency, months))
        for f in months:
            moved, rates = f.movements, f.metrics
            row: dict[str, Any] = {
                "month": f.month,
                "currency": currency,
                "opening": moved.start,
                **{
                    kind: (moved.amounts[kind], movement_url(f.month, currency, kind, filters))
                    if moved.customers[kind]
                    else moved.amounts[kind]
                    for kind in mrr.KINDS
                },
                "closing": moved.end,
                "arr": rates.arr,
                "customers": rates.customers,
                "subscriptions": rates.subscriptions,
                "arpu": rates.arpu,
                "logo_churn": percent(rates.logo_churn),
                "revenue_churn": percent(rates.revenue_churn),
                "net_retention": percent(rates.net_retention),
                "trial_conversion": percent(rates.trial_conversion),
            }
            rows.append(row)
    table = Table(
        title=_("MRR per month"),
        columns=[
            Column("month", _("Month"), "month"),
            Column("currency", _("Currency")),
            Column("opening", _("Opening MRR"), "money"),
            *(Column(kind, labels[kind], "money") for kind in mrr.KINDS),
            Column("closing", _("Closing MRR"), "money"),
            Column("arr", _("ARR"), "money"),
            Column("customers", _("Paying customers"), "int"),
            Column("subscriptions", _("Paying subscriptions"), "int"),
            Column("arpu", _("ARPU"), "money"),
            Column("logo_churn", _("Logo churn"), "percent"),
            Column("revenue_churn", _("Revenue churn"), "percent"),
            Column("net_retention", _("Net revenue retention"), "percent"),
            Column("trial_conversion", _("Trial conversion"), "percent"),
        ],
        rows=rows,
        filename=f"mrr_{filters.slug}.csv",
    )
    notes = [
        _(
            "MRR: each subscription's recurring charge after discounts, before tax, as one "
            "month's worth (yearly ÷ 12, quarterly ÷ 3), per currency. A month opens with the "
            "MRR at the end of the day before its first and closes with the MRR at the end of "
            "its last day (the current month: today)."
        ),
        _(
            "Movements are per customer: new (its first MRR), expansion and contraction (its MRR "
            "up or down), churn (no paying subscription left), reactivation (back after "
            "churning). Closing MRR = opening + new + expansion + reactivation − contraction − "
            "churn. Click an amount to see the customers behind it."
        ),
        _(
            "Rates: logo churn = customers lost ÷ paying customers at the opening; revenue churn "
            "= (churn + contraction) ÷ opening MRR; net revenue retention = (opening + expansion "
            "− contraction − churn) ÷ opening MRR; trial conversion = trials ended in the month "
            "and billed ÷ trials ended."
        ),
    ]
    return ReportResult(charts=pictures, tables=[table], notes=notes)


def mrr_breakdown(filters: ReportFilters) -> ReportResult:
    today = clock.today()
    day = min(month_end(filters.end), today)
    narrowed = mrr_filters(filters)
    pictures = []
    # Day by day over the months asked for, the last 366 days of them at most (a point a day).
    first = max(filters.start, date.fromordinal(day.toordinal() - 365))
    days = [date.fromordinal(n) for n in range(first.toordinal(), day.toordinal() + 1)]
    for currency, values in selectors.mrr_series(days, narrowed).items():
        pictures.append(
            charts.line_chart(
                categories=[date_format(d, "SHORT_DATE_FORMAT") for d in days],
                series=[charts.Series(_("MRR"), values, "series-mrr")],
                currency=currency,
                title=_("MRR day by day, %(currency)s") % {"currency": currency},
            )
        )
    titles = {
        "plan": _("MRR by plan on %(day)s"),
        "partner": _("MRR by partner on %(day)s"),
        "country": _("MRR by the customers' country on %(day)s"),
    }
    headers = {"plan": _("Plan"), "partner": _("Partner"), "country": _("Country")}
    tables = []
    for by in ("plan", "partner", "country"):
        rows = [
            {
                "key": label or (_("Sold directly") if by == "partner" else ""),
                "currency": currency,
                "mrr": amount,
                "arr": mrr.annual(amount),
                "subscriptions": count,
            }
            for label, currency, amount, count in selectors.breakdown(day, by, narrowed)
        ]
        tables.append(
            Table(
                title=titles[by] % {"day": day.isoformat()},
                columns=[
                    Column("key", headers[by]),
                    Column("currency", _("Currency")),
                    Column("mrr", _("MRR"), "money"),
                    Column("arr", _("ARR"), "money"),
                    Column("subscriptions", _("Paying subscriptions"), "int"),
                ],
                rows=rows,
                filename=f"mrr-by-{by}_{day.isoformat()}.csv",
            )
        )
    notes = [
        _("A partner's sales count at the price the partner pays. Never added across currencies.")
    ]
    return ReportResult(charts=pictures, tables=tables, notes=notes)
