"""Revenue figures: what was invoiced, credited, collected, recognized and deferred per month, and
the aged receivables. One module of definitions; the pages, the API and the exports only show
what it answers.

The definitions (billing-rules §11 and what Cadence decided beside it):

- A document counts once issued (drafts never) on its issue date, in its currency. Net amounts
  exclude VAT. A credit note counts against the invoice it corrects, negative, whatever its
  reason (a cancellation, charges no longer due, a refund).
- **Invoiced** in a month: the net of the invoices issued in it. **Credited**: the net of the
  credit notes issued in it, as a positive number. A cancelled invoice stays invoiced in its
  month; its credit note is credited in its own.
- **Collected**: the payments received in the month (tax included), a reversal (a returned direct
  debit) subtracting on the day the money came back. Customer credit spent on an invoice is not
  collected again: that money was collected, or credited, when the credit arose. Refunds paid
  back are credited (their credit note), not subtracted from what was collected.
- **Recognized**: each line's net spread day by day over its period [start, end), so a day of a
  365-day line recognizes 1/365 of it; credit-note lines negatively over their period. A line
  without a period (a one-off charge, a penalty) is recognized on its document's issue date.
  A line counts over its period whenever it was issued (a period invoiced late is recognized in
  the months it covers).
- **Deferred** at the end of a day D: what the lines issued on or before D have not recognized
  by the end of D (their days after D), per currency.
- Rounding: shares are added exactly (fractions), and each figure shown is rounded half-up once
  (core.pricing.round_money), so a month's recognized plus its deferred may differ by a cent
  from what was invoiced (billing-rules example 11.2 rounds 55.89 and 1,144.11 each).
- **Open balance** of an invoice on day D (receivables): its total (tax included) less the
  payments received up to D (reversals subtracting, customer credit counting: it settles the
  invoice) less the credit notes issued up to D that correct it — except a refund's credit note,
  which pays money back rather than reducing what is owed. Never below zero: an invoice settled
  beyond its total is the customer's credit, not a negative receivable. Cancelled invoices are
  out (a credit note cancelled the whole of them); written-off ("uncollectible") invoices are
  still owed and in. Days past due are counted from the due date (the issue date when none).
- Who owes: the party billed (Invoice.customer), which for a partner's sale is the partner's
  billing account (billing-rules §9). "By partner" groups the invoices billed to partners.

Filters: `currency`; `partner_id`, the documents billed to that partner's account; `customer_id`,
those billed to the customer or naming it as end customer (a partner's sale for it);
`plan_id`, the lines of subscriptions now on that plan (a plan change moves the past too).

PostgreSQL answers in SQL, the proration included (a query per figure, whatever the rows: the
lines are first summed per document date and period, then spread over the months with date
arithmetic). SQLite (the embedded default, small data) stores decimals as floats in SQL
arithmetic, so there the same definitions run in Python (`_reference_*`) over rows read through
the ORM. The tests hold the two to agree to the cent on random data.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from operator import attrgetter
from typing import Any, Literal

from django.db import connection, transaction
from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import TruncMonth

from billing.models import Invoice, InvoiceLine, Payment
from core.pricing import ZERO, round_money
from partners.models import Partner
from payments.models import Refund
from reports.months import month_start, months_between, next_month
from subscriptions.models import Customer

ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class RevenueFilters:
    """Every field optional: None, everything."""

    currency: str | None = None
    partner_id: int | None = None
    plan_id: int | None = None
    customer_id: int | None = None


NO_FILTERS = RevenueFilters()


@dataclass(frozen=True)
class RevenueMonth:
    month: date  # its first day
    currency: str
    invoiced: Decimal  # net (excl. VAT) of the invoices issued in the month
    credited: Decimal  # net of the credit notes issued in the month (a positive number)
    collected: Decimal  # payments received in the month (incl. tax; reversals subtract)
    recognized: Decimal  # net recognized in the month, day by day over the lines' periods
    deferred: Decimal  # invoiced net not yet recognized at the end of the month's last day


@dataclass(frozen=True)
class AgedRow:
    party_id: int
    party_name: str
    currency: str
    not_due: Decimal
    days_1_30: Decimal
    days_31_60: Decimal
    days_61_90: Decimal
    over_90: Decimal
    total: Decimal
    url: str | None = None  # where the pages send a click (they set it; the figures do not)


# Months ------------------------------------------------------------------------------------------


# Recognition, the pure definition ----------------------------------------------------------------


def _days_between(start: date, end: date) -> int:
    return max(0, (end - start).days)


def recognized_share(
    amount: Decimal, period_start: date, period_end: date, start: date, end: date
) -> Fraction:
    """The exact share of `amount`, spread day by day over [period_start, period_end), that falls
    in [start, end). Sums of shares are added as fractions and rounded once when shown."""
    total_days = (period_end - period_start).days
    if total_days <= 0:
        raise ValueError(f"a period lasts at least one day: {period_start} → {period_end}")
    days = _days_between(max(period_start, start), min(period_end, end))
    return Fraction(amount) * days / total_days


def recognized_between(
    amount: Decimal, period_start: date, period_end: date, start: date, end: date
) -> Decimal:
    """The day-by-day share of `amount`, over [period_start, period_end), recognized in
    [start, end) (half-open periods, billing-rules §1), **unrounded** (Decimal's 28 digits).

    Unrounded because a figure shown is a sum of shares, rounded once (half-up, to the currency's
    minor unit: core.pricing.round_money): example 11.2's March is
    round_money(recognized_between(1200, 15 Mar, 15 Mar next year, 1 Mar, 1 Apr)) = 55.89."""
    share = recognized_share(amount, period_start, period_end, start, end)
    return Decimal(share.numerator) / Decimal(share.denominator)


def _deferred_share(amount: Decimal, period_start: date, period_end: date, day: date) -> Fraction:
    """What a line has not recognized by the end of `day`: its days after `day`."""
    return recognized_share(amount, period_start, period_end, day + ONE_DAY, period_end)


# What the figures are made of ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    """One line (or lines summed alike) of an issued document, as the figures read it: a period
    always (a line without one covers its document's issue date), its net signed (credit notes
    negative)."""

    currency: str
    is_credit: bool
    issue_date: date
    start: date
    end: date
    net: Decimal

    @property
    def signed(self) -> Decimal:
        return -self.net if self.is_credit else self.net


def _period(issue: date, start: date | None, end: date | None) -> tuple[date, date]:
    if start is not None and end is not None and end > start:
        return start, end
    return issue, issue + ONE_DAY


def _invoice_q(filters: RevenueFilters, prefix: str = "") -> Q:
    """The filters on documents, `prefix` leading to the invoice."""
    q = Q()
    if filters.currency:
        q &= Q(**{f"{prefix}currency": filters.currency})
    if filters.partner_id is not None:
        q &= Q(**{f"{prefix}customer__partner_account__id": filters.partner_id})
    if filters.customer_id is not None:
        q &= Q(**{f"{prefix}customer_id": filters.customer_id}) | Q(
            **{f"{prefix}end_customer_id": filters.customer_id}
        )
    return q


def _line_plan_q(plan_id: int) -> Q:
    # A credit note's lines name no subscription: their document does (the one it corrects).
    return Q(subscription__plan_id=plan_id) | Q(
        subscription__isnull=True, invoice__subscription__plan_id=plan_id
    )


def _issued_lines(filters: RevenueFilters) -> QuerySet[InvoiceLine]:
    lines = InvoiceLine.objects.filter(
        _invoice_q(filters, "invoice__"), invoice__issue_date__isnull=False
    ).exclude(invoice__status=Invoice.Status.DRAFT)
    if filters.plan_id is not None:
        lines = lines.filter(_line_plan_q(filters.plan_id))
    return lines


def _entries(filters: RevenueFilters) -> Iterator[_Entry]:
    """Every issued line, read row by row (streamed: the reference path and SQLite)."""
    rows = _issued_lines(filters).values_list(
        "invoice__currency",
        "invoice__kind",
        "invoice__issue_date",
        "period_start",
        "period_end",
        "net",
    )
    for currency, kind, issue, start, end, net in rows.iterator(chunk_size=2000):
        assert issue is not None  # filtered: issued documents have their date
        start, end = _period(issue, start, end)
        yield _Entry(currency, kind == Invoice.Kind.CREDIT_NOTE, issue, start, end, net)


def _collected_payments(filters: RevenueFilters, start: date, end: date) -> QuerySet[Payment]:
    payments = Payment.objects.filter(
        _invoice_q(filters, "invoice__"), received_on__gte=start, received_on__lt=end
    ).exclude(method=Payment.Method.CUSTOMER_CREDIT)
    if filters.plan_id is not None:
        payments = payments.filter(invoice__subscription__plan_id=filters.plan_id)
    return payments


def _collected(filters: RevenueFilters, months: list[date]) -> dict[tuple[str, date], Decimal]:
    """Payments per (currency, month), in one query."""
    payments = _collected_payments(filters, months[0], next_month(months[-1]))
    if connection.vendor != "postgresql":
        # SQLite adds decimals as floats in SQL: its (few) rows are added here.
        totals: dict[tuple[str, date], Decimal] = defaultdict(lambda: ZERO)
        for currency, received_on, amount in payments.values_list(
            "currency", "received_on", "amount"
        ):
            totals[(currency, month_start(received_on))] += amount
        return dict(totals)
    rows = (
        payments.annotate(month=TruncMonth("received_on"))
        .values("currency", "month")
        .annotate(amount=Sum("amount"))
        .order_by()
    )
    return {(row["currency"], _as_date(row["month"])): row["amount"] for row in rows}


def _as_date(value) -> date:
    return value.date() if hasattr(value, "date") else value


# Revenue per month -----------------------------------------------------------------------------------


def _touches(entry: _Entry, month: date, following: date) -> bool:
    """Whether the entry has a say in the month's figures (its currency then has a row)."""
    return (
        (entry.start < following and entry.end > month)
        or month <= entry.issue_date < following
        or (entry.issue_date < following < entry.end)
    )


@dataclass
class _Sums:
    invoiced: Decimal = ZERO
    credited: Decimal = ZERO
    recognized: Fraction = Fraction(0)
    deferred: Fraction = Fraction(0)


def _reference_months(
    entries: Iterable[_Entry], months: list[date]
) -> dict[tuple[str, date], _Sums]:
    """The month figures (but collected) from the lines, one by one: the definition."""
    sums: dict[tuple[str, date], _Sums] = {}
    for entry in entries:
        for month in months:
            following = next_month(month)
            if not _touches(entry, month, following):
                continue
            row = sums.setdefault((entry.currency, month), _Sums())
            if month <= entry.issue_date < following:
                if entry.is_credit:
                    row.credited += entry.net
                else:
                    row.invoiced += entry.net
            row.recognized += recognized_share(
                entry.signed, entry.start, entry.end, month, following
            )
            if entry.issue_date < following:
                row.deferred += _deferred_share(
                    entry.signed, entry.start, entry.end, following - ONE_DAY
                )
    return sums


# The lines summed per document date and period (one row for the thousands of lines a billing run
# writes for the same period), then spread over the months by date arithmetic. Each share is
# summed as net × days per (currency, month, days in the period): exact numbers, divided in Python,
# so nothing is rounded before the figure is shown.
_MONTHS_SQL = """
WITH entries AS (
    SELECT currency, kind, issue_date, start_date, end_date, SUM(net) AS net
    FROM (
        SELECT i.currency, i.kind, i.issue_date, l.net,
            CASE WHEN l.period_end > l.period_start THEN l.period_start ELSE i.issue_date END
                AS start_date,
            CASE WHEN l.period_end > l.period_start THEN l.period_end ELSE i.issue_date + 1 END
                AS end_date
        FROM billing_invoiceline l
        JOIN billing_invoice i ON i.id = l.invoice_id
        {joins}
        WHERE i.status <> 'draft' AND i.issue_date IS NOT NULL {where}
    ) lines
    WHERE (end_date > %(first)s OR issue_date >= %(first)s)
        AND (start_date < %(last)s OR issue_date < %(last)s)
    GROUP BY currency, kind, issue_date, start_date, end_date
),
months AS (
    SELECT m::date AS month_start, (m + interval '1 month')::date AS month_end
    FROM generate_series(%(first)s::date, %(last)s::date - 1, interval '1 month') AS m
)
SELECT e.currency, m.month_start, e.end_date - e.start_date AS days,
    SUM(CASE WHEN e.kind = 'invoice' AND e.issue_date >= m.month_start
        AND e.issue_date < m.month_end THEN e.net ELSE 0 END) AS invoiced,
    SUM(CASE WHEN e.kind = 'credit_note' AND e.issue_date >= m.month_start
        AND e.issue_date < m.month_end THEN e.net ELSE 0 END) AS credited,
    SUM(CASE WHEN e.kind = 'credit_note' THEN -e.net ELSE e.net END
        * GREATEST(0, LEAST(e.end_date, m.month_end) - GREATEST(e.start_date, m.month_start)))
        AS recognized_days,
    SUM(CASE WHEN e.issue_date < m.month_end
        THEN CASE WHEN e.kind = 'credit_note' THEN -e.net ELSE e.net END
            * GREATEST(0, e.end_date - GREATEST(e.start_date, m.month_end))
        ELSE 0 END) AS deferred_days
FROM entries e
JOIN months m ON (e.start_date < m.month_end AND e.end_date > m.month_start)
    OR (e.issue_date >= m.month_start AND e.issue_date < m.month_end)
    OR (e.issue_date < m.month_end AND e.end_date > m.month_end)
GROUP BY e.currency, m.month_start, days
"""


def _sql_filters(filters: RevenueFilters, *, lines: bool) -> tuple[str, str, dict[str, Any]]:
    """(joins, where, params) of the filters, the invoice aliased `i` (and its line `l`)."""
    joins: list[str] = []
    where: list[str] = []
    params: dict[str, Any] = {}
    if filters.currency:
        where.append("i.currency = %(currency)s")
        params["currency"] = filters.currency
    if filters.partner_id is not None:
        where.append(
            "i.customer_id IN (SELECT account_id FROM partners_partner WHERE id = %(partner)s)"
        )
        params["partner"] = filters.partner_id
    if filters.customer_id is not None:
        where.append("(i.customer_id = %(customer)s OR i.end_customer_id = %(customer)s)")
        params["customer"] = filters.customer_id
    if filters.plan_id is not None:
        subscription = (
            "COALESCE(l.subscription_id, i.subscription_id)" if lines else "i.subscription_id"
        )
        joins.append(f"JOIN subscriptions_subscription s ON s.id = {subscription}")
        where.append("s.plan_id = %(plan)s")
        params["plan"] = filters.plan_id
    return " ".join(joins), "".join(f" AND {w}" for w in where), params


def _fetch(sql: str, params: dict[str, Any]) -> list[tuple]:
    """The rows of one of the queries above, planned for what they are: the planner expects
    millions of grouped lines where there are thousands of periods. Without JIT, which would
    compile the query (about a second at a million lines) to save milliseconds; with the memory
    to hash the lines at once, workers to scan and join them in parallel, and hashing rather
    than sorting a million rows to group them into a few thousand."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('jit', 'off', true), set_config('work_mem', '64MB', true),"
            " set_config('parallel_tuple_cost', '0', true), set_config('enable_sort', 'off', true)"
        )
        cursor.execute(sql, params)
        return cursor.fetchall()


def _sql_months(filters: RevenueFilters, months: list[date]) -> dict[tuple[str, date], _Sums]:
    joins, where, params = _sql_filters(filters, lines=True)
    params.update({"first": months[0], "last": next_month(months[-1])})
    sums: dict[tuple[str, date], _Sums] = {}
    for currency, month, days, invoiced, credited, recognized, deferred in _fetch(
        _MONTHS_SQL.format(joins=joins, where=where), params
    ):
        row = sums.setdefault((currency, _as_date(month)), _Sums())
        row.invoiced += invoiced
        row.credited += credited
        row.recognized += Fraction(recognized) / days
        row.deferred += Fraction(deferred) / days
    return sums


def revenue_by_month(
    *, start: date, end: date, filters: RevenueFilters = NO_FILTERS
) -> list[RevenueMonth]:
    """The months from `start`'s to `end`'s (both included), one row per month and currency, by
    month then currency: every month is there for each currency seen in the range, with zeros
    where nothing happened. Two queries, whatever the rows."""
    months = months_between(start, end)
    if not months:
        return []
    if connection.vendor == "postgresql":
        sums = _sql_months(filters, months)
    else:
        sums = _reference_months(_entries(filters), months)
    collected = _collected(filters, months)
    return _month_rows(sums, collected, months)


def _month_rows(
    sums: dict[tuple[str, date], _Sums],
    collected: dict[tuple[str, date], Decimal],
    months: list[date],
) -> list[RevenueMonth]:
    currencies = sorted({currency for currency, _ in sums} | {c for c, _ in collected})
    rows = []
    for month in months:
        for currency in currencies:
            row = sums.get((currency, month), _Sums())
            rows.append(
                RevenueMonth(
                    month=month,
                    currency=currency,
                    invoiced=round_money(row.invoiced, currency),
                    credited=round_money(row.credited, currency),
                    collected=round_money(collected.get((currency, month), ZERO), currency),
                    recognized=round_money(row.recognized, currency),
                    deferred=round_money(row.deferred, currency),
                )
            )
    return rows


def reference_revenue_by_month(
    *, start: date, end: date, filters: RevenueFilters = NO_FILTERS
) -> list[RevenueMonth]:
    """revenue_by_month computed line by line in Python, on any database: the definition the
    SQL is checked against (tests), and what SQLite runs."""
    months = months_between(start, end)
    if not months:
        return []
    return _month_rows(
        _reference_months(_entries(filters), months), _collected(filters, months), months
    )


# Deferred revenue on a day ---------------------------------------------------------------------------

_DEFERRED_SQL = """
SELECT i.currency, l.period_end - l.period_start AS days,
    SUM(CASE WHEN i.kind = 'credit_note' THEN -l.net ELSE l.net END
        * (l.period_end - GREATEST(l.period_start, %(after)s::date))) AS deferred_days
FROM billing_invoiceline l
JOIN billing_invoice i ON i.id = l.invoice_id
{joins}
WHERE i.status <> 'draft' AND i.issue_date <= %(day)s
    AND l.period_end > l.period_start AND l.period_end > %(after)s {where}
GROUP BY i.currency, days
"""


def deferred_on(day: date, *, filters: RevenueFilters = NO_FILTERS) -> dict[str, Decimal]:
    """Deferred revenue at the end of `day`, per currency (those with lines still to recognize,
    rounded once each). One query."""
    if connection.vendor != "postgresql":
        return reference_deferred_on(day, filters=filters)
    joins, where, params = _sql_filters(filters, lines=True)
    params.update({"day": day, "after": day + ONE_DAY})
    totals: dict[str, Fraction] = defaultdict(Fraction)
    for currency, days, deferred in _fetch(_DEFERRED_SQL.format(joins=joins, where=where), params):
        totals[currency] += Fraction(deferred) / days
    return {currency: round_money(total, currency) for currency, total in sorted(totals.items())}


def reference_deferred_on(day: date, *, filters: RevenueFilters = NO_FILTERS) -> dict[str, Decimal]:
    """deferred_on, line by line in Python (the definition; SQLite)."""
    totals: dict[str, Fraction] = defaultdict(Fraction)
    for entry in _entries(filters):
        # A line without a period is recognized on its issue date: nothing is left after it.
        if entry.issue_date <= day and entry.end > day + ONE_DAY:
            totals[entry.currency] += _deferred_share(entry.signed, entry.start, entry.end, day)
    return {currency: round_money(total, currency) for currency, total in sorted(totals.items())}


# Aged receivables ------------------------------------------------------------------------------------

Grouping = Literal["customer", "partner"]
BUCKETS = ("not_due", "days_1_30", "days_31_60", "days_61_90", "over_90")


def bucket_of(*, on: date, due: date) -> str:
    """The age bucket of an amount due on `due`, seen on `on` (days past the due date)."""
    late = (on - due).days
    if late <= 0:
        return "not_due"
    if late <= 30:
        return "days_1_30"
    if late <= 60:
        return "days_31_60"
    if late <= 90:
        return "days_61_90"
    return "over_90"


_AGED_SQL = """
WITH paid AS MATERIALIZED (
    SELECT p.invoice_id, SUM(p.amount) AS amount
    FROM billing_payment p
    WHERE p.received_on <= %(on)s
    GROUP BY p.invoice_id
),
credited AS MATERIALIZED (
    SELECT cn.credited_invoice_id AS invoice_id, SUM(cn.total) AS amount
    FROM billing_invoice cn
    WHERE cn.kind = 'credit_note' AND cn.status <> 'draft' AND cn.issue_date <= %(on)s
        AND NOT EXISTS (SELECT 1 FROM payments_refund r WHERE r.credit_note_id = cn.id)
    GROUP BY cn.credited_invoice_id
),
open AS (
    SELECT {party_id} AS party_id, {party_name} AS party_name, i.currency,
        COALESCE(i.due_date, i.issue_date) AS due,
        i.total - COALESCE(p.amount, 0) - COALESCE(cr.amount, 0) AS amount
    FROM billing_invoice i
    {party_join}
    LEFT JOIN paid p ON p.invoice_id = i.id
    LEFT JOIN credited cr ON cr.invoice_id = i.id
    {joins}
    WHERE i.kind = 'invoice' AND i.status NOT IN ('draft', 'cancelled')
        AND i.issue_date <= %(on)s {where}
)
SELECT party_id, party_name, currency,
    SUM(CASE WHEN due >= %(on)s THEN amount ELSE 0 END),
    SUM(CASE WHEN due < %(on)s AND due >= %(d30)s THEN amount ELSE 0 END),
    SUM(CASE WHEN due < %(d30)s AND due >= %(d60)s THEN amount ELSE 0 END),
    SUM(CASE WHEN due < %(d60)s AND due >= %(d90)s THEN amount ELSE 0 END),
    SUM(CASE WHEN due < %(d90)s THEN amount ELSE 0 END)
FROM open
WHERE amount > 0
GROUP BY party_id, party_name, currency
"""

_PARTIES = {
    "customer": (
        "c.id",
        "c.name",
        "JOIN subscriptions_customer c ON c.id = i.customer_id",
    ),
    "partner": ("pt.id", "pt.name", "JOIN partners_partner pt ON pt.account_id = i.customer_id"),
}


def aged_receivables(
    *, on: date, by: Grouping = "customer", filters: RevenueFilters = NO_FILTERS
) -> list[AgedRow]:
    """What is owed at the end of `on`, per party and currency, by days past due: not due yet,
    1–30, 31–60, 61–90, over 90. Parties owing nothing are left out; rows by name. One query."""
    if by not in _PARTIES:
        raise ValueError(f"aged receivables are by customer or by partner, not {by!r}")
    if connection.vendor != "postgresql":
        return reference_aged_receivables(on=on, by=by, filters=filters)
    party_id, party_name, party_join = _PARTIES[by]
    joins, where, params = _sql_filters(filters, lines=False)
    params.update(
        {
            "on": on,
            "d30": on - timedelta(days=30),
            "d60": on - timedelta(days=60),
            "d90": on - timedelta(days=90),
        }
    )
    sql = _AGED_SQL.format(
        party_id=party_id,
        party_name=party_name,
        party_join=party_join,
        joins=joins,
        where=where,
    )
    return _aged_rows(
        (pk, name, currency, amounts) for pk, name, currency, *amounts in _fetch(sql, params)
    )


_BY_NAME = attrgetter("party_name", "party_id", "currency")  # the order of AgedRow lists


def _partners_by_account() -> dict[int, tuple[int, str]]:
    """(partner id, name) by the customer that is its account, where it is invoiced."""
    return {
        account: (pk, name)
        for account, pk, name in Partner.objects.filter(account__isnull=False).values_list(
            "account_id", "pk", "name"
        )
    }


def partner_rows(customer_rows: Iterable[AgedRow]) -> list[AgedRow]:
    """`aged_receivables(by="partner")` from the rows by customer of the same day and filters:
    a partner is invoiced on its account (billing-rules §9), so its debts are that customer's,
    under the partner's name. The report shows both groupings from one reading of the invoices
    (each reading aggregates every payment and credit note up to the day)."""
    partners = _partners_by_account()
    rows = [
        replace(row, party_id=partners[row.party_id][0], party_name=partners[row.party_id][1])
        for row in customer_rows
        if row.party_id in partners
    ]
    return sorted(rows, key=_BY_NAME)


def _aged_rows(rows: Iterable[tuple[int, str, str, Sequence[Decimal]]]) -> list[AgedRow]:
    """AgedRows from (party id, name, currency, the amounts in BUCKETS' order), each amount
    rounded half-up to the currency's minor unit. A report by customer holds one row per
    customer owing (100,000 at the benchmark's size): most amounts are zero, and the quantum
    and a rounded zero is taken once per currency."""
    zeros: dict[str, Decimal] = {}
    result = []
    for pk, name, currency, amounts in rows:
        zero = zeros.get(currency)
        if zero is None:
            zero = zeros[currency] = round_money(ZERO, currency)
        not_due, days_1_30, days_31_60, days_61_90, over_90 = (
            round_money(amount, currency) if amount else zero for amount in amounts
        )
        result.append(
            AgedRow(
                party_id=pk,
                party_name=name,
                currency=currency,
                not_due=not_due,
                days_1_30=days_1_30,
                days_31_60=days_31_60,
                days_61_90=days_61_90,
                over_90=over_90,
                # The sum of the amounts shown, as a total on an invoice is.
                total=not_due + days_1_30 + days_31_60 + days_61_90 + over_90,
            )
        )
    return sorted(result, key=_BY_NAME)


def open_balances(*, on: date, filters: RevenueFilters = NO_FILTERS) -> dict[int, Decimal]:
    """Each invoice's open balance at the end of `on` (those above zero), by invoice id: the
    definition, invoice by invoice (a few queries whatever the rows; the reference and SQLite)."""
    invoices = (
        Invoice.objects.filter(
            _invoice_q(filters),
            kind=Invoice.Kind.INVOICE,
            issue_date__lte=on,
        )
        .exclude(status__in=[Invoice.Status.DRAFT, Invoice.Status.CANCELLED])
        .values_list("pk", "total")
    )
    if filters.plan_id is not None:
        invoices = invoices.filter(subscription__plan_id=filters.plan_id)
    balances = dict(invoices)
    for invoice_id, amount in Payment.objects.filter(
        invoice_id__in=list(balances), received_on__lte=on
    ).values_list("invoice_id", "amount"):
        balances[invoice_id] -= amount
    refunds = Refund.objects.values("credit_note_id")
    for invoice_id, amount in (
        Invoice.objects.filter(
            kind=Invoice.Kind.CREDIT_NOTE,
            credited_invoice_id__in=list(balances),
            issue_date__lte=on,
        )
        .exclude(status=Invoice.Status.DRAFT)
        .exclude(pk__in=refunds)
        .values_list("credited_invoice_id", "total")
    ):
        balances[invoice_id] -= amount
    return {pk: balance for pk, balance in balances.items() if balance > 0}


def reference_aged_receivables(
    *, on: date, by: Grouping = "customer", filters: RevenueFilters = NO_FILTERS
) -> list[AgedRow]:
    """aged_receivables, invoice by invoice in Python (the definition; SQLite)."""
    balances = open_balances(on=on, filters=filters)
    invoices = Invoice.objects.filter(pk__in=list(balances)).values_list(
        "pk", "customer_id", "currency", "due_date", "issue_date"
    )
    parties: dict[int, tuple[int, str]]
    if by == "partner":
        parties = _partners_by_account()
    else:
        parties = {
            pk: (pk, name)
            for pk, name in Customer.objects.filter(
                pk__in=Invoice.objects.filter(pk__in=list(balances)).values("customer_id")
            ).values_list("pk", "name")
        }
    table: dict[tuple[int, str, str], dict[str, Decimal]] = {}
    for pk, customer_id, currency, due, issue in invoices:
        if customer_id not in parties:
            continue  # by partner: billed to a direct customer
        party_id, name = parties[customer_id]
        amounts = table.setdefault((party_id, name, currency), dict.fromkeys(BUCKETS, ZERO))
        # Issued: the date is there (invoice_number_only_when_issued); the due date nearly always.
        assert issue is not None
        amounts[bucket_of(on=on, due=due or issue)] += balances[pk]
    return _aged_rows(
        (pk, name, currency, [amounts[bucket] for bucket in BUCKETS])
        for (pk, name, currency), amounts in table.items()
    )
