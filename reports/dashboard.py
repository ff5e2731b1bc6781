"""The operator's dashboard (the admin's home page): a few figures as cards, then charts over
12 or 24 months, each with its table one click away (a report of the reports section).

The figures here are the simple ones read straight from invoices, payments and subscriptions
(invoiced, collected, receivable, overdue, subscriptions live). MRR and its movements come from
reports.mrr (`mrr_cards`), written beside this module.

Every query here groups by month and currency, so the dashboard makes the same few queries
whatever the number of invoices (tests/reports/test_dashboard.py counts them).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import Count, F, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.urls import reverse
from django.utils.formats import date_format, number_format
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from billing.models import Invoice, Payment
from catalog.models import Plan
from core.money import money_text
from partners.models import Partner
from reports import charts, mrr, selectors
from reports.months import month_start, months_back, next_month
from reports.report_mrr import movements_chart
from subscriptions.models import Subscription

ZERO = Decimal(0)


@dataclass(frozen=True)
class Card:
    label: str
    value: str
    hint: str = ""
    url: str = ""


@dataclass(frozen=True)
class Panel:
    title: str
    svg: SafeString
    table_url: str


@dataclass
class Dashboard:
    cards: list[Card]
    panels: list[Panel]
    months: int = 12


# Months ---------------------------------------------------------------------------------------


# Figures --------------------------------------------------------------------------------------


@dataclass
class MonthFigures:
    """One currency's amounts per month (keyed by the month's first day)."""

    invoiced: dict[date, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    credited: dict[date, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    invoices: dict[date, int] = field(default_factory=lambda: defaultdict(int))
    credit_notes: dict[date, int] = field(default_factory=lambda: defaultdict(int))
    # Totals including tax: what the customers owe, for the receivables.
    billed_gross: dict[date, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    credited_gross: dict[date, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    collected: dict[date, Decimal] = field(default_factory=lambda: defaultdict(Decimal))

    def receivable_at_end_of(self, month: date) -> Decimal:
        """Owed at the end of `month`: everything billed (tax included) up to then, less the
        credit notes and the money received (a returned debit counts back, negative)."""
        billed = sum((v for m, v in self.billed_gross.items() if m <= month), ZERO)
        credited = sum((v for m, v in self.credited_gross.items() if m <= month), ZERO)
        collected = sum((v for m, v in self.collected.items() if m <= month), ZERO)
        return billed - credited - collected


def issued_documents(
    *,
    currency: str = "",
    plan: Plan | None = None,
    partner: Partner | None = None,
) -> QuerySet[Invoice]:
    """Invoices and credit notes once issued (a draft is nobody's debt yet); a cancelled
    invoice stays, its credit note is counted against it."""
    documents = Invoice.objects.exclude(status=Invoice.Status.DRAFT)
    if currency:
        documents = documents.filter(currency=currency)
    if plan is not None:
        documents = documents.filter(subscription__plan=plan)
    if partner is not None:
        # A partner's sales are invoiced to its account (billing-rules §9).
        documents = documents.filter(customer__partner_account=partner)
    return documents


def monthly_figures(
    *,
    until: date,
    since: date | None = None,
    currency: str = "",
    plan: Plan | None = None,
    partner: Partner | None = None,
    with_payments: bool = True,
) -> dict[str, MonthFigures]:
    """Per currency, the amounts of each month up to `until`'s (from `since`'s, or from the
    beginning for balances): two grouped queries, however many documents."""
    end = next_month(until)
    documents = issued_documents(currency=currency, plan=plan, partner=partner).filter(
        issue_date__lt=end
    )
    # Customer credit spending itself is no money received: the credit note it came from is
    # already counted (reports/revenue.py, "collected", the same definition).
    payments = Payment.objects.filter(received_on__lt=end).exclude(
        method=Payment.Method.CUSTOMER_CREDIT
    )
    if since is not None:
        documents = documents.filter(issue_date__gte=month_start(since))
        payments = payments.filter(received_on__gte=month_start(since))
    figures: dict[str, MonthFigures] = defaultdict(MonthFigures)
    rows = (
        documents.annotate(month=TruncMonth("issue_date"))
        .values("month", "currency", "kind")
        .annotate(net=Sum("net_total"), gross=Sum("total"), count=Count("id"))
        .order_by()
    )
    for row in rows:
        month, one = row["month"], figures[row["currency"]]
        if row["kind"] == Invoice.Kind.CREDIT_NOTE:
            one.credited[month] += row["net"]
            one.credited_gross[month] += row["gross"]
            one.credit_notes[month] += row["count"]
        else:
            one.invoiced[month] += row["net"]
            one.billed_gross[month] += row["gross"]
            one.invoices[month] += row["count"]
    if with_payments:
        if currency or plan is not None or partner is not None:
            # The payments of the same documents, whenever these were issued.
            chosen = issued_documents(currency=currency, plan=plan, partner=partner)
            payments = payments.filter(invoice__in=chosen.values("id"))
        paid = (
            payments.annotate(month=TruncMonth("received_on"))
            .values("month", "currency")
            .annotate(amount=Sum("amount"))
            .order_by()
        )
        for payment in paid:
            figures[payment["currency"]].collected[payment["month"]] += payment["amount"]
    return dict(sorted(figures.items()))


def overdue_balances(today: date) -> dict[str, tuple[Decimal, int]]:
    """Per currency, what issued invoices past their due date still owe, and how many."""
    rows = (
        Invoice.objects.filter(
            kind=Invoice.Kind.INVOICE,
            status__in=Invoice.OPEN_STATUSES,
            due_date__lt=today,
        )
        .values("currency")
        .annotate(owed=Sum(F("total") - F("amount_paid")), count=Count("id"))
        .order_by("currency")
    )
    return {row["currency"]: (row["owed"], row["count"]) for row in rows}


def live_subscriptions_count() -> int:
    return Subscription.objects.filter(status__in=Subscription.LIVE_STATUSES).count()


# The dashboard --------------------------------------------------------------------------------


def mrr_cards(today: date, figures: dict[str, list[selectors.MonthFigures]]) -> list[Card]:
    """MRR and ARR today, and this month's movements so far (the last of `figures`)."""
    mrr_today = {c: f[-1].movements.end for c, f in figures.items()}
    current = month_start(today)
    movements_url = reverse("reports:mrr-movements") + f"?month={current:%Y-%m}"
    moved = {c: f[-1].movements for c, f in figures.items()}
    lines = []
    for currency, m in sorted(moved.items()):
        parts = [
            f"{'−' if kind in mrr.DOWN else '+'}{money_text(m.amounts[kind], currency)}"
            for kind in mrr.KINDS
            if m.amounts[kind]
        ]
        net = money_text(m.net, currency)
        lines.append(f"{net} ({' '.join(parts)})" if parts else net)
    return [
        Card(
            _("MRR"),
            _amounts(mrr_today),
            hint=_("today, before tax; per currency"),
            url=report_url("mrr", first=months_back(today, 12)[0], last=current),
        ),
        Card(
            _("ARR"),
            _amounts({c: f[-1].metrics.arr for c, f in figures.items()}),
            hint=_("MRR × 12"),
            url=report_url("mrr-breakdown", first=current, last=current),
        ),
        Card(
            _("MRR movements"),
            "\n".join(lines) or money_text(ZERO, _default_currency()),
            hint=_("this month so far: new, expansion, reactivation, contraction, churn"),
            url=movements_url,
        ),
    ]


def build_dashboard(*, today: date, months: int = 12) -> Dashboard:
    shown = months_back(today, months)
    current = month_start(today)
    figures = monthly_figures(until=today)
    overdue = overdue_balances(today)
    recurring = selectors.monthly_figures(shown, today=today)
    cards = [*mrr_cards(today, recurring)]
    cards.append(
        Card(
            _("Active subscriptions"),
            _number(live_subscriptions_count()),
            url=reverse("admin:subscriptions_subscription_changelist"),
        )
    )
    this_month = _("this month (%(month)s)") % {"month": _month_name(current)}
    cards.append(
        Card(
            pgettext("amount", "Invoiced"),
            _amounts({c: f.invoiced[current] - f.credited[current] for c, f in figures.items()}),
            hint=this_month + " · " + _("net of credit notes, before tax"),
            url=report_url("invoicing", first=current, last=current),
        )
    )
    cards.append(
        Card(
            _("Collected"),
            _amounts({c: f.collected[current] for c, f in figures.items()}),
            hint=this_month,
            url=report_url("receivables", first=current, last=current),
        )
    )
    count = sum(n for _owed, n in overdue.values())
    cards.append(
        Card(
            _("Overdue"),
            _amounts({c: owed for c, (owed, _n) in overdue.items()}),
            hint=ngettext(
                "%(count)s invoice past its due date",
                "%(count)s invoices past their due date",
                count,
            )
            % {"count": _number(count)},
            url=reverse("admin:billing_invoice_changelist") + "?status__exact=overdue",
        )
    )
    labels = charts.month_labels(shown)
    panels = [
        Panel(
            _("MRR and its movements (%(currency)s)") % {"currency": currency},
            movements_chart(currency, months_of),
            report_url("mrr", first=shown[0], last=shown[-1], currency=currency),
        )
        for currency, months_of in recurring.items()
        if any(f.movements.end or f.movements.start for f in months_of)
    ]
    for currency, one in figures.items():
        if not any(one.invoiced[m] or one.credited[m] or one.collected[m] for m in shown):
            continue  # a currency no longer sold: its history is in the reports
        panels.append(
            Panel(
                _("Invoiced and collected (%(currency)s)") % {"currency": currency},
                charts.bars(
                    categories=labels,
                    series=[
                        charts.Series(
                            _("Invoiced, net"),
                            [one.invoiced[m] - one.credited[m] for m in shown],
                            "series-invoiced",
                        ),
                        charts.Series(
                            _("Collected"), [one.collected[m] for m in shown], "series-collected"
                        ),
                    ],
                    currency=currency,
                    title=_("Invoiced and collected per month, %(currency)s")
                    % {"currency": currency},
                ),
                report_url("invoicing", first=shown[0], last=shown[-1], currency=currency),
            )
        )
        panels.append(
            Panel(
                _("Receivables (%(currency)s)") % {"currency": currency},
                charts.line_chart(
                    categories=labels,
                    series=[
                        charts.Series(
                            _("Owed at the end of the month"),
                            [one.receivable_at_end_of(m) for m in shown],
                            "series-overdue",
                        )
                    ],
                    currency=currency,
                    title=_("Receivables at the end of each month, %(currency)s")
                    % {"currency": currency},
                ),
                report_url("receivables", first=shown[0], last=shown[-1], currency=currency),
            )
        )
    return Dashboard(cards=cards, panels=panels, months=months)


def report_url(slug: str, *, first: date, last: date, currency: str = "") -> str:
    query = {"start": f"{first:%Y-%m}", "end": f"{last:%Y-%m}"}
    if currency:
        query["currency"] = currency
    return reverse("reports:report", args=[slug]) + "?" + urlencode(query)


def _amounts(per_currency: dict[str, Decimal]) -> str:
    """One amount per currency, one a line (never added across currencies)."""
    shown = [money_text(v, c) for c, v in sorted(per_currency.items()) if v]
    return "\n".join(shown) or money_text(ZERO, _default_currency())


def _default_currency() -> str:
    return settings.DEFAULT_CURRENCY


def _number(value: int) -> str:
    return number_format(value, 0, use_l10n=True, force_grouping=True)


def _month_name(month: date) -> str:
    return date_format(month, "YEAR_MONTH_FORMAT")
