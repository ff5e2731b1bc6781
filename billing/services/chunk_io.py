"""The billing run's one door to the bulk tools (core.db: bulk, reads, gc_pause).

A chunk of the run reads and writes thousands of rows; the tools that make that fast bypass
what Django does row by row (Model.__init__, save() and its signals, django-simple-history's
receivers). So they are used here only, where what they skip is made up for, and checked
(`audit`, run by the tests):

- every column list derives from the models, so a new field is read and written without a
  change here;
- no model the run writes has a pre_save/post_save receiver the bulk writes would skip, but
  django-simple-history's, whose audit rows are written here (`_write_history`);
- every model the run writes that keeps history gets its rows.

Domain code (documents, the advance) computes plain values and model instances; this module
turns them into rows, reads the chunk (`load_chunk`) and writes it (`write_chunk`, and the
document writes of `billing.services.documents.save_documents`). The payments book
(`billing.services.payments.PaymentBook`, a bank statement's payments) writes through it too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from django.apps import apps
from django.db import models, router
from django.db.models.signals import m2m_changed, post_init, post_save, pre_init, pre_save
from django.utils import timezone
from simple_history.models import HistoricalRecords

from billing.models import Invoice, InvoiceEvent, InvoiceLine, InvoiceTax, Payment
from core.db.bulk import build, bulk_update, clone, from_row, insert, reserve_ids
from core.db.gc_pause import gc_paused
from core.db.reads import IdsRead
from subscriptions.charges import PriceBook, SubscriptionContext, contexts_for
from subscriptions.charges.loading import Query, contracts_query, discounts_query, timelines_query
from subscriptions.models import Customer, Subscription, SubscriptionEvent, SubscriptionSeat
from subscriptions.services.renewals import audited_values, change_reason

__all__ = [
    "Chunk",
    "attach",
    "audit",
    "gc_paused",
    "insert_rows",
    "load_chunk",
    "lock_subscriptions",
    "new_row",
    "raw_value",
    "reserve_row_ids",
    "row_from",
    "row_values",
    "set_row_values",
    "update_rows",
    "write_chunk",
]


def _columns(model: type[models.Model], *, leave: Iterable[str] = ()) -> list[str]:
    leave = set(leave)
    return [f.attname for f in model._meta.concrete_fields if f.attname not in leave]


# What the run reads. Not a subscription's `updated_at`: the advance sets it.
SUBSCRIPTION_COLUMNS = _columns(Subscription, leave=["updated_at"])
SEAT_COLUMNS = _columns(SubscriptionSeat)
CUSTOMER_COLUMNS = _columns(Customer)
# What the run writes of rows it changes: every column but the key and the creation stamp.
# The rows are locked and read whole, so writing the unchanged columns changes nothing, and no
# column the advance may change can be forgotten.
SUBSCRIPTION_WRITTEN = _columns(Subscription, leave=["id", "created_at"])
SEAT_WRITTEN = _columns(SubscriptionSeat, leave=["id"])

# Every model the run writes through these tools, and how: inserted whole (COPY), or updated.
# Payments too: billing.services.payments.PaymentBook records a bank statement's thousands of
# payments through them (their invoices' events and balances: InvoiceEvent, Invoice).
INSERTED = (SubscriptionEvent, Invoice, InvoiceLine, InvoiceTax, InvoiceEvent, Payment)
UPDATED = {
    Subscription: SUBSCRIPTION_WRITTEN,
    SubscriptionSeat: SEAT_WRITTEN,
    Invoice: None,  # numbered by an UPDATE of numbering.ISSUE_FIELDS (drafts issued later)
}
# Models whose history (django-simple-history) the run writes itself.
HISTORY_WRITTEN = (Subscription,)
# Rows made without their model's __init__ (core.db.bulk: build, clone, from_row), so without
# its init signals: what is inserted, and what the locked reads load.
BUILT = (*INSERTED, Subscription, Customer, SubscriptionSeat)
# What each update reads first (a written column must have been read, or it would be nulled).
# `updated_at` is not read: every advance sets it (renewals._refresh).
READ = {Subscription: [*SUBSCRIPTION_COLUMNS, "updated_at"], SubscriptionSeat: SEAT_COLUMNS}


# Reads: compiled once, run with each chunk's ids ---------------------------------------------

# FOR NO KEY UPDATE: the run changes no key, so a row that another transaction only references
# (FOR KEY SHARE, taken by inserting a notice reminder or an event that points to it) is not
# skipped; two runs, or a run and a change (FOR UPDATE), still exclude each other.
_LOCK_SUBSCRIPTIONS = IdsRead(
    lambda ids: (
        Subscription.objects.select_for_update(skip_locked=True, no_key=True)
        .filter(pk__any=ids)
        .order_by("pk")
        .values_list(*SUBSCRIPTION_COLUMNS)
    )
)
# The retry at the end of a run waits for the rows another session held.
_LOCK_SUBSCRIPTIONS_WAITING = IdsRead(
    lambda ids: (
        Subscription.objects.select_for_update(no_key=True)
        .filter(pk__any=ids)
        .order_by("pk")
        .values_list(*SUBSCRIPTION_COLUMNS)
    )
)
# Customers in a read of their own: joined to the locked rows, the planner may scan the whole
# customer table rather than look up a thousand keys.
_CUSTOMERS = IdsRead(
    lambda ids: Customer.objects.filter(pk__any=ids).order_by().values_list(*CUSTOMER_COLUMNS)
)
_SEATS = IdsRead(
    lambda ids: (
        SubscriptionSeat.objects.filter(subscription_id__any=ids)
        .order_by()  # the default ordering joins two tables
        .values_list(*SEAT_COLUMNS)
    )
)
# The engine's inputs: the queries of subscriptions.charges.loading, compiled once.
_CONTEXT_READS: dict[Query, IdsRead] = {
    timelines_query: IdsRead(timelines_query, json_columns=[4]),
    discounts_query: IdsRead(discounts_query),
    contracts_query: IdsRead(contracts_query),
}


def _compiled(query: Query, ids: Sequence[int]) -> list[tuple]:
    return _CONTEXT_READS[query].rows(ids)


def lock_subscriptions(
    subscription_ids: Sequence[int], book: PriceBook, wait: bool = False
) -> list[Subscription]:
    """Lock the chunk's subscriptions (skipping those another session holds, unless `wait`)
    and load them with their customers; plans and terms come from the price book."""
    db = router.db_for_write(Subscription)
    subscriptions = [
        from_row(Subscription, SUBSCRIPTION_COLUMNS, row, db)
        for row in (_LOCK_SUBSCRIPTIONS_WAITING if wait else _LOCK_SUBSCRIPTIONS).rows(
            subscription_ids
        )
    ]
    customers = {
        row[0]: from_row(Customer, CUSTOMER_COLUMNS, row, db)
        for row in _CUSTOMERS.rows(
            {s.customer_id for s in subscriptions}
            | {s.bill_to_id for s in subscriptions if s.bill_to_id}
        )
    }
    for subscription in subscriptions:
        # What the relations' descriptors would cache, without their checks.
        cache = subscription._state.fields_cache
        cache["customer"] = customers[subscription.customer_id]
        cache["bill_to"] = customers.get(subscription.bill_to_id)
        cache["plan"] = book.plan(subscription.plan_id)
        cache["term"] = book.term(subscription.term_id)
    return subscriptions


# The invoiced lines the run compares with what is due (and the credit notes reversing them):
# every column of the model, so that a new one is never loaded row by row, and the reversal.
_INVOICED_FIELDS = (
    *(field.attname for field in InvoiceLine._meta.concrete_fields),
    "reversed_by__id",
    "reversed_by__invoice__billing_key",
)


@dataclass
class Chunk:
    """What a chunk's locked subscriptions need, loaded in a fixed number of queries."""

    contexts: dict[int, SubscriptionContext]
    seats: dict[int, list[SubscriptionSeat]]
    invoiced: dict[int, dict[str, list[InvoiceLine]]]


def load_chunk(subscriptions: Sequence[Subscription], *, day: date, book: PriceBook) -> Chunk:
    """The pricing contexts (timelines, discounts), seats and invoiced lines (since the earliest
    date to bill) of locked subscriptions."""
    ids = [s.pk for s in subscriptions]
    db = router.db_for_write(SubscriptionSeat)  # where the chunk is locked
    seats = defaultdict(list)
    for row in _SEATS.rows(ids):
        seats[row[1]].append(from_row(SubscriptionSeat, SEAT_COLUMNS, row, db))
    since_floor = min(
        (s.next_billing_date for s in subscriptions if s.next_billing_date), default=day
    )
    invoiced: dict[int, dict[str, list[InvoiceLine]]] = defaultdict(lambda: defaultdict(list))
    for line in (
        InvoiceLine.objects.filter(
            subscription_id__any=ids, charge_key__isnull=False, charge_date__gte=since_floor
        )
        .select_related("reversed_by__invoice")
        .only(*_INVOICED_FIELDS)
        .order_by("id")
    ):
        # Read by subscription: never None here (the filter names it).
        invoiced[line.subscription_id][line.charge].append(line)  # type: ignore[index]
    return Chunk(
        contexts=contexts_for(subscriptions, book=book, read=_compiled, usage_metered_only=True),
        seats=seats,
        invoiced=invoiced,
    )


# Writes ---------------------------------------------------------------------------------------


def write_chunk(advances: Sequence) -> None:
    """Write the chunk's planned advances (`renewals.Advance`): new timeline entries, the
    subscriptions (whole, with their audit rows), the seats that changed."""
    insert_rows([e for a in advances for e in a.new_events])
    bulk_update([a.subscription for a in advances], SUBSCRIPTION_WRITTEN)
    bulk_update([s for a in advances for s in a.changed_seats], SEAT_WRITTEN)
    _write_history(advances)


def _write_history(advances: Sequence) -> None:
    """The audit rows a service's save() would have written (bulk_update sends no signal): one
    "~" row per subscription whose audited values changed, no user (the nightly job)."""
    history = Subscription.history.model
    now = timezone.now()
    rows = []
    for planned in advances:
        subscription = planned.subscription
        values = audited_values(subscription)
        if values == planned.audited:
            continue
        row = build(
            history,
            history_date=now,
            history_type="~",
            history_user_id=None,
            history_change_reason=change_reason(planned),
        )
        state = row.__dict__
        for field in history.tracked_fields:
            state[field.attname] = subscription.__dict__[field.attname]
        rows.append(row)
    # Nothing points to history rows: their ids come from the table's default.
    insert(rows, ids=False)


def insert_rows(objects: Sequence[models.Model], *, ids: bool = True) -> None:
    """Insert new rows of one model (COPY on PostgreSQL); `ids=False`: nothing points to them,
    they keep no primary key."""
    insert(objects, ids=ids)


def reserve_row_ids(objects: Sequence[models.Model]) -> None:
    """Give new rows their primary keys before they are written (rows pointing to them go
    first)."""
    reserve_ids(objects)


def update_rows(objects: Sequence[models.Model], fields: Sequence[str]) -> None:
    """Write `fields` of many rows of one model in one statement."""
    bulk_update(objects, fields)


# Rows made from values: without Model.__init__, whose descriptors (django-money's) and field by
# field work cost more than pricing, for the tens of thousands of lines of a run.


def new_row(model: type[models.Model], **values) -> models.Model:
    """A new unsaved row from attribute values (`customer_id`), defaults for the rest."""
    return build(model, **values)


def row_from(model: type[models.Model], values: dict, **overrides) -> models.Model:
    """A new unsaved row from a complete dict of attribute values (`row_values`)."""
    return clone(model, values, **overrides)


def row_values(row: models.Model) -> dict:
    """An unsaved row's attribute values, to make more rows like it (`row_from`)."""
    values = dict(row.__dict__)
    del values["_state"]
    return values


def set_row_values(row: models.Model, values: dict) -> None:
    """Set attribute values as stored (plain amounts), past django-money's descriptors."""
    row.__dict__.update(values)


def raw_value(row: models.Model, attname: str):
    """An attribute as stored (a money field's plain amount, not Money)."""
    return row.__dict__[attname]


def attach(parts: Iterable[models.Model], invoice: Invoice) -> None:
    """Point lines and taxes to their saved (or reserved) document: what the `invoice`
    descriptor does, without its checks."""
    for part in parts:
        part.__dict__["invoice_id"] = invoice.pk
        part._state.fields_cache["invoice"] = invoice


# The checks the tests run ---------------------------------------------------------------------


def audit(
    *,
    inserted: Iterable[type[models.Model]] = INSERTED,
    updated: dict | None = None,
    read: dict | None = None,
    history_written: Iterable[type[models.Model]] = HISTORY_WRITTEN,
) -> list[str]:
    """What the bulk writes would get wrong, in words (empty: nothing)."""
    updated = UPDATED if updated is None else updated
    read = READ if read is None else read
    history_written = set(history_written)
    problems = []
    for built in BUILT:
        for signal, label in ((pre_init, "pre_init"), (post_init, "post_init")):
            for receiver in _receivers(signal, built):
                problems.append(
                    f"{built.__name__} has a {label} receiver the bulk reads skip: {receiver}"
                )
    for model in {*inserted, *updated}:
        name = model.__name__
        # The bulk writes set columns only: a many-to-many relation (and the m2m_changed
        # receivers of its rows) would be left out.
        for m2m in model._meta.many_to_many:
            problems.append(f"{name}.{m2m.name} is a many-to-many the bulk writes do not set")
        through_models = {
            f.remote_field.through
            for other in apps.get_models()
            for f in other._meta.many_to_many
            if f.remote_field.through is model
        }
        if through_models and _receivers(m2m_changed, model):
            problems.append(f"{name} has an m2m_changed receiver the bulk writes skip")
        for signal, label in ((pre_save, "pre_save"), (post_save, "post_save")):
            for receiver in _receivers(signal, model):
                owner = getattr(receiver, "__self__", None)
                if _is_history(owner) and model in history_written:
                    continue  # its audit rows are written by _write_history
                problems.append(f"{name} has a {label} receiver the bulk writes skip: {receiver}")
        if hasattr(model, "history") and model not in history_written:
            problems.append(f"{name} keeps history the bulk writes do not write")
    for model, written in updated.items():
        if written is None:
            continue
        name = model.__name__
        expected = _columns(model, leave=["id", "created_at"])
        for attname in expected:
            if attname not in written:
                problems.append(f"{name}.{attname} is not written by the bulk update")
        for attname in written:
            if attname not in read.get(model, ()):
                problems.append(f"{name}.{attname} is written but not read first")
    return problems


def _receivers(signal, sender) -> list:
    receivers = signal._live_receivers(sender)
    if isinstance(receivers, tuple):  # Django 5: (sync, async)
        receivers = [*receivers[0], *receivers[1]]
    return list(receivers)


def _is_history(owner) -> bool:
    return isinstance(owner, HistoricalRecords)
