"""Reads of the customer self-service pages, tenant-scoped (another customer's rows: 404)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, QuerySet, prefetch_related_objects
from django.http import Http404
from django.utils.translation import gettext as _

from catalog.models import BundleItem, Plan, SeatType, UsageCharge
from core.periods import Interval
from core.pricing import ZERO, Totals, invoice_totals
from subscriptions import timeline
from subscriptions.charges import (
    Charge,
    PriceBook,
    SubscriptionContext,
    contexts_for,
    period_charges,
)
from subscriptions.charges.usage import UsageLine, quantity_text, usage_estimate_of
from subscriptions.models import (
    CreditEntry,
    Customer,
    CustomerUser,
    ScheduledIssue,
    Subscription,
    SubscriptionContract,
    SubscriptionEvent,
    SubscriptionItem,
    SubscriptionSeat,
)


def customer_for_user(user) -> Customer | None:
    """The customer a logged-in self-service user belongs to (None for anyone else)."""
    if not getattr(user, "is_authenticated", False):
        return None
    membership = getattr(user, "customer_membership", None)
    return membership.customer if membership is not None else None


def customer_subscriptions(customer: Customer) -> QuerySet[Subscription]:
    return (
        Subscription.objects.filter(customer=customer)
        .select_related("plan", "term", "pending_plan")
        .prefetch_related(
            Prefetch("seats", queryset=SubscriptionSeat.objects.select_related("seat_type"))
        )
        .order_by("-id")
    )


def get_subscription_for_customer(customer: Customer, pk: int) -> Subscription:
    subscription = customer_subscriptions(customer).filter(pk=pk).first()
    if subscription is None:
        raise Http404
    return subscription


@dataclass(frozen=True)
class NextInvoice:
    day: date
    amount: Decimal  # net, before tax
    currency: str


def next_recurring_period(context: SubscriptionContext, next_billing_date: date) -> Interval:
    """The period of the next recurring invoice. `next_billing_date` is where billing looks
    next: a period start not invoiced yet, or — right after a change, until its billing task
    has run — the day of the change's one-off charge, inside a period already invoiced at its
    start. Then the next recurring invoice is the following period's, not that one again."""
    period = context.period_of(next_billing_date)
    if next_billing_date > period.start:
        return context.period_of(period.end)
    return period


def next_invoices(subscriptions: list[Subscription]) -> dict[int, NextInvoice]:
    """The date and amount of each subscription's next recurring invoice, in a fixed number of
    queries (events and discounts of all of them at once, the catalog once)."""
    due = [s for s in subscriptions if s.next_billing_date is not None]
    if not due:
        return {}
    contexts = contexts_for(due, book=PriceBook.load_all())
    result = {}
    for subscription in due:
        context = contexts[subscription.pk]
        period = next_recurring_period(context, subscription.next_billing_date)
        charges = period_charges(context, period)
        if charges:
            result[subscription.pk] = NextInvoice(
                period.start, sum((c.net for c in charges), ZERO), subscription.currency
            )
    return result


# The self-service pages and the partner portal ----------------------------------------------------
#
# The pages show subscriptions with their next invoice and pending changes in a fixed number of
# queries whatever the number of rows: the timeline and discounts of every subscription at once,
# the catalog once (only the plans shown, see price_book_for).


def customer_of_user(user) -> Customer | None:
    """customer_for_user in one query (the membership and its customer together)."""
    if not getattr(user, "is_authenticated", False):
        return None
    membership = CustomerUser.objects.select_related("customer").filter(user=user).first()
    return membership.customer if membership is not None else None


def subscriptions_for_pages(customer: Customer) -> QuerySet[Subscription]:
    """A customer's subscriptions with what their pages and pricing read, newest first."""
    return (
        Subscription.objects.filter(customer=customer)
        .select_related("plan__term__tax_rate", "term__tax_rate", "pending_plan", "bill_to")
        .order_by("-id")
    )


def managed_elsewhere(subscription: Subscription) -> str | None:
    """Why the customer may not change this subscription itself, or None. A partner's sale is
    the partner's to change (billing-rules §9): its customer reads it — in the pages and the API."""
    if not subscription.is_managed:
        return None
    return _(
        "This subscription is managed by %(partner)s, which buys it for you: ask them to "
        "change or cancel it."
    ) % {"partner": subscription.bill_to.name}


def get_subscription_for_customer_page(customer: Customer, pk: int) -> Subscription:
    subscription = subscriptions_for_pages(customer).filter(pk=pk).first()
    if subscription is None:
        raise Http404
    return subscription


def price_book_for(plans: Iterable[Plan]) -> PriceBook:
    """A PriceBook of these plans in at most four queries (bundles, add-on bundles, their items,
    and tiers only when a tiered price is among them). The plans come with their term and its
    tax rate already joined (subscriptions_for_pages does that); a plan or term met later while
    pricing (a scheduled downgrade, a renewal term) is loaded on demand by the book."""
    unique = list({plan.pk: plan for plan in plans}.values())
    if not unique:
        return PriceBook()
    prefetch_related_objects(unique, "bundles", "addon_bundles")
    bundles = [
        bundle for plan in unique for bundle in (*plan.bundles.all(), *plan.addon_bundles.all())
    ]
    prefetch_related_objects(
        bundles,
        Prefetch(
            "items",
            queryset=BundleItem.objects.select_related(
                "product__seat_type", "product__tax_rate", "price_sheet", "discount"
            ),
        ),
    )
    tiered = [
        item.price_sheet
        for bundle in bundles
        for item in bundle.items.all()
        if item.price_sheet is not None and item.price_sheet.is_tiered
    ]
    if tiered:
        prefetch_related_objects(tiered, "tiers")
    return PriceBook(unique)


@dataclass(frozen=True)
class ChargeSummary:
    """Charges as a page shows them: each line (gross, discounts, net) and the totals, with the
    tax per rate computed as on an invoice (core.pricing.invoice_totals)."""

    charges: tuple[Charge, ...]
    currency: str
    totals: Totals

    @property
    def net(self) -> Decimal:
        return self.totals.net

    @property
    def tax(self) -> Decimal:
        return self.totals.tax

    @property
    def total(self) -> Decimal:
        return self.totals.gross

    @property
    def is_empty(self) -> bool:
        return not self.charges

    @property
    def period(self) -> Interval | None:
        return self.charges[0].period if self.charges else None


def charge_summary(charges: Iterable[Charge], currency: str) -> ChargeSummary:
    charges = tuple(charges)
    return ChargeSummary(
        charges,
        currency,
        invoice_totals([(c.tax_rate, c.net, c.tax_category) for c in charges], currency),
    )


def summaries_by_period(
    charges: Iterable[Charge], currency: str
) -> list[tuple[Interval, ChargeSummary]]:
    """Recurring charges as their invoices will be (one per billing period, billing-rules §9), in
    period order: what a catch-up of several periods costs, invoice by invoice."""
    by_period: dict[Interval, list[Charge]] = {}
    for charge in charges:
        by_period.setdefault(charge.period, []).append(charge)
    return [
        (period, charge_summary(period_charges, currency))
        for period, period_charges in sorted(by_period.items(), key=lambda item: item[0].start)
    ]


@dataclass(frozen=True)
class SeatLine:
    seat_type: SeatType
    quantity: int
    scheduled_quantity: int | None = None
    scheduled_on: date | None = None


@dataclass(frozen=True)
class PendingChange:
    """A change recorded but not in effect yet, for the pages to name."""

    kind: str  # "fulfilment", "plan_fulfilment", "plan_change", "seat_reduction", "cancellation"
    effective_date: date | None = None
    plan: Plan | None = None
    seat_type: SeatType | None = None
    quantity: int | None = None


@dataclass(frozen=True)
class SubscriptionOverview:
    subscription: Subscription
    seats: list[SeatLine]
    pending: list[PendingChange]
    next_invoice: ChargeSummary | None
    next_invoice_date: date | None

    @property
    def pk(self) -> int:
        return self.subscription.pk

    @property
    def plan_change(self) -> PendingChange | None:
        """The plan change waiting to take effect (or to be fulfilled), which can be withdrawn."""
        return next((p for p in self.pending if p.kind in ("plan_change", "plan_fulfilment")), None)


def subscription_overviews(
    subscriptions: Iterable[Subscription], today: date
) -> list[SubscriptionOverview]:
    """Each subscription with its seats, its pending changes and its next recurring invoice
    (date, lines, net, tax, total), in a fixed number of queries: the timelines (1), the
    discounts (1) and the catalog of the plans shown (price_book_for), whatever the rows.

    Seats are the timeline folded on today (on the start for a subscription not started yet),
    scheduled reductions and plan changes its still-future entries."""
    subscriptions = list(subscriptions)
    if not subscriptions:
        return []
    book = price_book_for(s.plan for s in subscriptions)
    contexts = contexts_for(subscriptions, book=book)
    seat_types = _seat_types_in(book, subscriptions)
    overviews = []
    for subscription in subscriptions:
        context = contexts[subscription.pk]
        timeline_events = context.events
        next_day, summary = None, None
        if subscription.next_billing_date is not None and subscription.anchor_date is not None:
            period = next_recurring_period(context, subscription.next_billing_date)
            charges = period_charges(context, period)
            if charges:
                next_day, summary = period.start, charge_summary(charges, subscription.currency)
        overviews.append(
            SubscriptionOverview(
                subscription=subscription,
                seats=_seat_lines(subscription, timeline_events, seat_types, today),
                pending=_pending_changes(subscription, timeline_events, book, seat_types, today),
                next_invoice=summary,
                next_invoice_date=next_day,
            )
        )
    return overviews


def _seat_types_in(book: PriceBook, subscriptions: list[Subscription]) -> dict[int, SeatType]:
    found: dict[int, SeatType] = {}
    for subscription in subscriptions:
        for bundle in book.plan(subscription.plan_id).bundles.all():
            for item in bundle.items.all():
                if item.product_id and item.product.seat_type_id:
                    found[item.product.seat_type_id] = item.product.seat_type
    return found


def _live_events(events: Sequence[timeline.EventLike]) -> list[timeline.EventLike]:
    return [e for e in events if e.revoked_by_id is None]


def _seat_lines(
    subscription: Subscription,
    events: Sequence[timeline.EventLike],
    seat_types: dict[int, SeatType],
    today: date,
) -> list[SeatLine]:
    state = timeline.state_on(events, max(today, subscription.start_date))
    scheduled = {
        int(e.data["seat_type"]): e
        for e in _live_events(events)
        if e.kind == SubscriptionEvent.Kind.SEATS_REDUCED and e.effective_date > today
    }
    lines = []
    for seat_type_id, quantity in sorted(state.seats.items()):
        if seat_type_id not in seat_types:
            continue
        reduction = scheduled.get(seat_type_id)
        lines.append(
            SeatLine(
                seat_types[seat_type_id],
                quantity,
                int(reduction.data["quantity"]) if reduction else None,
                reduction.effective_date if reduction else None,
            )
        )
    return lines


def _pending_changes(
    subscription: Subscription,
    events: Sequence[timeline.EventLike],
    book: PriceBook,
    seat_types: dict[int, SeatType],
    today: date,
) -> list[PendingChange]:
    Kind = SubscriptionEvent.Kind
    pending = []
    if subscription.status == Subscription.Status.PENDING_FULFILMENT:
        pending.append(PendingChange("fulfilment"))
    if subscription.pending_plan is not None:
        pending.append(PendingChange("plan_fulfilment", plan=subscription.pending_plan))
    for event in _live_events(events):
        if event.effective_date <= today:
            continue
        if event.kind == Kind.PLAN_CHANGED:
            pending.append(
                PendingChange(
                    "plan_change", event.effective_date, plan=book.plan(int(event.data["to"]))
                )
            )
        elif event.kind == Kind.SEATS_REDUCED and int(event.data["seat_type"]) in seat_types:
            pending.append(
                PendingChange(
                    "seat_reduction",
                    event.effective_date,
                    seat_type=seat_types[int(event.data["seat_type"])],
                    quantity=int(event.data["quantity"]),
                )
            )
        elif event.kind == Kind.CANCELLATION:
            pending.append(PendingChange("cancellation", event.effective_date))
    return pending


def seat_types_of(*, plan: Plan, book: PriceBook | None = None) -> dict[int, SeatType]:
    """The seat types a plan sells (its seat products), by id."""
    plan = (book or PriceBook()).plan(plan.pk)
    found = {}
    for bundle in plan.bundles.all():
        for item in bundle.items.all():
            if item.kind == BundleItem.Kind.PRODUCT and item.product.seat_type_id:
                found[item.product.seat_type_id] = item.product.seat_type
    return found


def subscriptions_for_list() -> QuerySet[Subscription]:
    return (
        Subscription.objects.select_related(
            "customer__partner_link__partner", "bill_to", "plan", "pending_plan", "term"
        )
        .prefetch_related(
            Prefetch("seats", queryset=SubscriptionSeat.objects.select_related("seat_type")),
            Prefetch(
                "items", queryset=SubscriptionItem.objects.select_related("product", "bundle")
            ),
        )
        .order_by("-id")
    )


# Product contracts held (billing-rules §8) --------------------------------------------------------


@dataclass
class LedgerLine:
    entry: CreditEntry
    balance: Decimal  # credits left after this entry


@dataclass
class HeldContract:
    """A contract held, as the portals and the API show it: its deliveries (issues whose date
    has passed, not cancelled) and, for credits, its ledger with the running balance."""

    held: SubscriptionContract
    deliveries: list[ScheduledIssue]
    ledger: list[LedgerLine]

    @property
    def pk(self) -> int:
        return self.held.pk

    @property
    def kind(self) -> str:
        return self.held.contract.kind

    @property
    def balance(self) -> Decimal | None:
        if self.kind != "credit":
            return None
        return self.ledger[-1].balance if self.ledger else ZERO

    @property
    def can_top_up(self) -> bool:
        return (
            self.kind == "credit"
            and self.held.status != SubscriptionContract.Status.ENDED
            and self.held.contract.price_sheet_id is not None
        )


def held_contracts(subscription_ids: Iterable[int], today: date) -> dict[int, list[HeldContract]]:
    """The contracts of these subscriptions with their deliveries up to `today` and their
    credit ledgers: three queries, whatever the number of rows."""
    ids = list(subscription_ids)
    if not ids:
        return {}
    helds = list(
        SubscriptionContract.objects.filter(subscription_id__in=ids)
        .select_related("contract")
        .order_by("subscription_id", "id")
    )
    if not helds:
        return {}
    held_ids = [h.pk for h in helds]
    deliveries: dict[int, list[ScheduledIssue]] = {}
    for issue in ScheduledIssue.objects.filter(
        subscription_contract_id__in=held_ids, issue_date__lte=today, cancelled=False
    ).order_by("issue_date", "number"):
        deliveries.setdefault(issue.subscription_contract_id, []).append(issue)
    ledgers: dict[int, list[LedgerLine]] = {}
    balances: dict[int, Decimal] = {}
    for entry in CreditEntry.objects.filter(subscription_contract_id__in=held_ids).order_by(
        "day", "id"
    ):
        balance = balances.get(entry.subscription_contract_id, ZERO) + entry.amount
        balances[entry.subscription_contract_id] = balance
        ledgers.setdefault(entry.subscription_contract_id, []).append(LedgerLine(entry, balance))
    result: dict[int, list[HeldContract]] = {}
    for held in helds:
        result.setdefault(held.subscription_id, []).append(
            HeldContract(held, deliveries.get(held.pk, []), ledgers.get(held.pk, []))
        )
    return result


def with_usage_flag(queryset: QuerySet[Subscription]) -> QuerySet[Subscription]:
    """The subscriptions, each saying whether its plan charges usage (`has_usage_charges`), in
    the same query."""
    return queryset.annotate(
        has_usage_charges=Exists(UsageCharge.objects.filter(plan=OuterRef("plan_id")))
    )


def usage_estimates(
    subscriptions: Sequence[Subscription], *, day: date
) -> dict[int, list[UsageLine]]:
    """The current period's usage of each subscription's usage charges and its estimate
    (`subscriptions.charges.usage.usage_estimate_of`, what the API gives for one), for a page of
    subscriptions in a fixed number of queries: the plans' usage charges with their metric and
    tiers, the book and the contexts (which share one UsageReader: one aggregate per metric and
    period for all of them)."""
    # A page's rows may say already whether their plan charges usage (with_usage_flag): then a
    # page without usage charges makes no query here.
    subscriptions = [s for s in subscriptions if getattr(s, "has_usage_charges", True)]
    if not subscriptions:
        return {}
    plans = [s.plan for s in subscriptions]
    prefetch_related_objects(
        plans,
        Prefetch(
            "usage_charges",
            queryset=UsageCharge.objects.select_related(
                "metric", "price_sheet__product__tax_rate"
            ).prefetch_related("price_sheet__tiers"),
        ),
    )
    metered = [s for s in subscriptions if s.plan.usage_charges.all()]
    if not metered:
        return {}
    contexts = contexts_for(metered, book=price_book_for(s.plan for s in metered))
    estimates = {s.pk: usage_estimate_of(contexts[s.pk], day=day) for s in metered}
    return {pk: lines for pk, lines in estimates.items() if lines}


@dataclass(frozen=True)
class UsageShown:
    """A usage line as pages show it."""

    metric: Any
    period: Interval
    quantity: str
    amount_text: str
    rule: str


def usage_blocks(subscriptions: Sequence[Subscription], *, day: date) -> list[dict]:
    """For the pages: [{"subscription", "lines"}] of the subscriptions with usage charges, in
    their order (usage_estimates' queries, whatever the number of subscriptions)."""
    estimates = usage_estimates(subscriptions, day=day)
    return [
        {
            "subscription": s,
            "lines": [
                UsageShown(
                    metric=line.metric,
                    period=line.period,
                    quantity=quantity_text(line.quantity),
                    amount_text=line.amount_text,
                    rule=line.rule,
                )
                for line in estimates[s.pk]
            ],
        }
        for s in subscriptions
        if estimates.get(s.pk)
    ]
