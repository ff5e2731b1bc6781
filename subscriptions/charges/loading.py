"""The one way to load what the engine prices: `contexts_for(subscriptions, book=…)`.

The run, the pages' selectors and the services all build their contexts here, from the same two
reads (timelines and discount rules, one query each whatever the number of subscriptions) turned
into the same plain values. The billing run passes `read`, which runs these very queries through
its compiled statements (billing/services/chunk_io.py); everyone else evaluates them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import fields

from django.db.models import QuerySet

from catalog.tax import Buyer
from subscriptions import timeline
from subscriptions.charges.book import PriceBook
from subscriptions.charges.inputs import DiscountRule, HeldContract, SubscriptionContext
from subscriptions.models import (
    Customer,
    Subscription,
    SubscriptionContract,
    SubscriptionDiscount,
    SubscriptionEvent,
)
from subscriptions.usage import UsageReader

# A read of many subscriptions' rows: a query of their ids, as value tuples (subscription id
# first).
Query = Callable[[Sequence[int]], QuerySet]
Read = Callable[[Query, Sequence[int]], Iterable[tuple]]


def timelines_query(ids: Sequence[int]) -> QuerySet:
    return (
        SubscriptionEvent.objects.filter(subscription_id__any=ids)
        .order_by("effective_date", "id")
        .values_list("subscription_id", "id", "kind", "effective_date", "data", "revoked_by_id")
    )


def discounts_query(ids: Sequence[int]) -> QuerySet:
    # No ordering (the default one joins the subscriptions): rules are sorted where applied.
    return (
        SubscriptionDiscount.objects.filter(subscription_id__any=ids)
        .order_by()
        .values_list(
            "subscription_id",
            *(
                field.name for field in fields(DiscountRule)
            ),  # the rule's fields, named as the model's
        )
    )


def contracts_query(ids: Sequence[int]) -> QuerySet:
    return (
        SubscriptionContract.objects.filter(subscription_id__any=ids)
        .order_by("id")
        .values_list(
            "subscription_id", *(field.name for field in fields(HeldContract))
        )  # the held contract's fields, named as the model's
    )


def evaluate(query: Query, ids: Sequence[int]) -> Iterable[tuple]:
    return query(ids)


def contexts_for(
    subscriptions: Sequence[Subscription],
    *,
    book: PriceBook,
    read: Read = evaluate,
    language: str | None = None,
    usage_metered_only: bool = False,
) -> dict[int, SubscriptionContext]:
    """The pricing contexts of these subscriptions (rows with their anchor and currency), by id,
    in three queries (usage is read when priced, one query per metric and window for all)."""
    ids = [s.pk for s in subscriptions]
    events: dict[int, list[timeline.Entry]] = {}
    for subscription_id, *values in read(timelines_query, ids):
        events.setdefault(subscription_id, []).append(timeline.Entry(*values))
    buyers = _buyers(subscriptions)
    rules: dict[int, list[DiscountRule]] = {}
    for subscription_id, *values in read(discounts_query, ids):
        rules.setdefault(subscription_id, []).append(DiscountRule(*values))
    contracts: dict[int, list[HeldContract]] = {}
    for subscription_id, *values in read(contracts_query, ids):
        contracts.setdefault(subscription_id, []).append(HeldContract(*values))
    contexts = {
        s.pk: SubscriptionContext(
            subscription_id=s.pk,
            anchor=s.anchor_date,
            currency=s.currency,
            events=events.get(s.pk, []),
            discounts=rules.get(s.pk, []),
            book=book,
            language=language,
            buyer=buyers[s.pk],
            contracts=contracts.get(s.pk, []),
        )
        for s in subscriptions
    }
    # With `usage_metered_only` (a book holding every plan: the run's), usage is read for the
    # subscriptions a plan of whose timeline charges it (about one in ten of a run's chunk): a
    # thousand ids of which most have no events made PostgreSQL scan the whole events table
    # rather than use its index (subscription, code, counted_at). Not for a page's book, which
    # would load the plans a timeline left one by one to find out.
    if usage_metered_only:
        ids = [pk for pk, context in contexts.items() if context.ever_metered()]
    usage = UsageReader(ids)
    for context in contexts.values():
        context.usage = usage
    return contexts


def _buyers(subscriptions: Sequence[Subscription]) -> dict[int, Buyer]:
    """The party each subscription is invoiced to, as tax sees it: from the rows already loaded
    with it, else all of them in one query (never one per subscription)."""
    buyers: dict[int, Buyer] = {}
    missing: dict[int, list[int]] = {}
    for s in subscriptions:
        field = Subscription.bill_to.field if s.bill_to_id else Subscription.customer.field
        if field.is_cached(s):
            buyers[s.pk] = Buyer.of(s.billed_customer)
        else:
            missing.setdefault(s.bill_to_id or s.customer_id, []).append(s.pk)
    if missing:
        for pk, country, vat_number in Customer.objects.filter(pk__in=missing).values_list(
            "pk", "country", "vat_number"
        ):
            for subscription_id in missing[pk]:
                buyers[subscription_id] = Buyer.from_values(country, vat_number)
    return buyers


def context_of(subscription: Subscription, book: PriceBook | None = None) -> SubscriptionContext:
    """One subscription's context (`contexts_for` of one)."""
    return contexts_for([subscription], book=book or PriceBook())[subscription.pk]
