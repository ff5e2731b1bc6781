"""Recording usage events (billing-rules §12): a batch of 1 to 1,000, all or nothing.

- Each event is checked (its customer, its subscription, a transaction id of at most 100
  characters, a code, an aware timestamp at most 5 minutes ahead and at most 400 days old, a
  JSON object of properties of bounded size). One bad event refuses the batch, its errors keyed
  by the event's index: `{"events": {"3": {"timestamp": ["…"]}}}`. Nothing is written then.
- A retried event (same customer, same transaction id) is stored once: the batch is one INSERT
  … ON CONFLICT DO NOTHING on `usage_event_unique_transaction`, and the events it did not
  insert are reported as duplicates — a later duplicate in the same batch too.
- Its subscription: the one named (the customer's, live), or the only live subscription of the
  customer that charges the event's code (a UsageCharge on a metric of that event code) or
  limits it (a feature of the plan or of an add-on counted against such a metric). Several:
  refused, name the subscription. None: stored, counted by no subscription.
- `counted_at` (subscriptions/usage.py) decides the billing period the event counts in.
- Limits (Feature.enforcement) in the current billing period, from `usage_limits`
  (subscriptions/entitlements.py): hard — a batch that takes the usage over the limit is
  refused (`UsageLimitExceeded`, the API's 422) and nothing is written; soft — accepted, and the
  first batch that passes the limit asks for one `usage.limit_exceeded` webhook per
  subscription, feature and billing period (integrations.usage_limit_exceeded, idempotent by
  its event id). The customers whose limits are enforced are locked (their row, FOR NO KEY
  UPDATE) from before the usage is read until the commit, so two batches racing are counted
  one after the other: the second sees the first's events.

Every read is a fixed number of queries per batch, whatever its size: the customers, the
subscriptions named, the candidates for the others (one UNION), the customers with an enforced
limit on these codes (one UNION), and only for those the lock and the limits (before, and after
the insert), then the insert — one statement (PostgreSQL unpacks the batch from one JSON
parameter).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import Feature
from config.celery import send
from core.clock import billing_zone
from core.errors import ApplicationError
from subscriptions.entitlements import UsageLimit, usage_limits
from subscriptions.models import Customer, Subscription, SubscriptionItem, UsageEvent
from subscriptions.usage import grace

MAX_BATCH = 1000
MAX_TRANSACTION_ID = 100
MAX_CODE = 100
MAX_PROPERTIES_BYTES = 2000  # serialized JSON: a few dozen properties, never a document
MAX_FUTURE = timedelta(minutes=5)  # clocks drift; an event from the future is a bug upstream
MAX_AGE = timedelta(days=400)  # a year of billing periods and their corrections, no more
FIELDS = frozenset(
    {"customer", "subscription", "transaction_id", "code", "timestamp", "properties"}
)
RECORDED = "recorded"
DUPLICATE = "duplicate"


class UsageBatchError(ApplicationError):
    """A batch refused: the errors of each bad event, by index ("3": {"timestamp": [...]}), or
    of the batch itself (under "__all__")."""

    def __init__(self, errors: dict[str, dict[str, list[str]]], message: str = "") -> None:
        first = next(iter(errors.values()), {})
        text = message or next(iter(first.values()), [""])[0]
        super().__init__(text, field="events")
        self.errors = errors

    def as_dict(self) -> dict[str, Any]:
        return {"events": self.errors}


class UsageLimitExceeded(ApplicationError):
    """A hard limit would be passed: the batch is refused (API 422)."""

    def __init__(self, *, usage_limit: UsageLimit, used_after: Decimal) -> None:
        assert usage_limit.limit is not None  # an unlimited feature is never exceeded
        self.feature = usage_limit.feature.code
        self.limit = usage_limit.limit
        self.used = usage_limit.used
        self.used_after = used_after
        self.customer_id = usage_limit.customer_id
        self.period = usage_limit.period
        super().__init__(
            _(
                "The limit of %(feature)s is %(limit)s for the billing period %(start)s to "
                "%(end)s: %(used)s used so far, %(after)s with these events. The events were not "
                "recorded; raise the limit (a larger plan, an add-on) or wait for the next "
                "period."
            )
            % {
                "feature": self.feature,
                "limit": _number(self.limit),
                "start": self.period.start.isoformat(),
                "end": self.period.end.isoformat(),
                "used": _number(self.used),
                "after": _number(used_after),
            },
            field="events",
            code="usage_limit_exceeded",
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "detail": self.message,
            "code": self.code,
            "feature": self.feature,
            "customer": self.customer_id,
            "limit": _number(self.limit),
            "used": _number(self.used),
            "used_with_batch": _number(self.used_after),
            "period_start": self.period.start.isoformat(),
            "period_end": self.period.end.isoformat(),
        }


def _number(value: Decimal) -> str:
    return format(value.normalize(), "f") if value == value.to_integral() else str(value)


@dataclass(frozen=True)
class EventOutcome:
    index: int
    transaction_id: str
    status: str  # RECORDED or DUPLICATE
    subscription_id: int | None


@dataclass(frozen=True)
class LimitPassed:
    """A soft limit the batch took usage over, for the first time in the period."""

    customer_id: int
    subscription_id: int
    feature: str
    metric: str
    limit: Decimal
    used: Decimal
    period_start: date
    period_end: date


@dataclass
class UsageBatchResult:
    recorded: int
    duplicates: int
    events: list[EventOutcome]
    limits_passed: list[LimitPassed] = field(default_factory=list)


# Checking ------------------------------------------------------------------------------------


def _parse_timestamp(value: object) -> datetime | str:
    """The aware datetime, or the reason it is not one."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and 10 <= len(value) <= 40:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return _("Give the timestamp in ISO 8601 with its offset: 2026-11-22T09:00:00Z.")
    else:
        return _("Give the timestamp in ISO 8601 with its offset: 2026-11-22T09:00:00Z.")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        return _("The timestamp needs its UTC offset (Z or +01:00): a local time is ambiguous.")
    return parsed


def _text_refused(limit: int, name: str) -> str:
    return _("The %(name)s is 1 to %(limit)s characters.") % {"name": name, "limit": limit}


MAX_PROPERTY_NUMBER = 10**12  # summed over a period, within the aggregation's decimal(30, 6)


def _scalar(value: object) -> bool:
    if value is None or isinstance(value, str | bool):
        return True
    if isinstance(value, int):
        return -MAX_PROPERTY_NUMBER <= value <= MAX_PROPERTY_NUMBER
    if isinstance(value, float):
        return math.isfinite(value) and -MAX_PROPERTY_NUMBER <= value <= MAX_PROPERTY_NUMBER
    return False


def _identifier(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63


@dataclass(slots=True)
class _Event:
    index: int
    customer_id: int
    subscription_id: int | None
    named: bool
    transaction_id: str
    code: str
    timestamp: datetime
    counted_at: datetime
    properties: str  # serialized
    raw_properties: dict


def _check(
    events: Sequence[Mapping[str, Any]], received: datetime
) -> tuple[list[_Event], dict[str, dict[str, list[str]]]]:
    errors: dict[str, dict[str, list[str]]] = {}
    parsed: list[_Event] = []
    earliest, latest = received - MAX_AGE, received + MAX_FUTURE
    window_start = received - grace()
    for index, event in enumerate(events):
        problems: dict[str, list[str]] = {}
        if not isinstance(event, Mapping):
            errors[str(index)] = {"__all__": [_("Each event is a JSON object.")]}
            continue
        unknown = set(event) - FIELDS
        for name in sorted(unknown, key=str):
            problems[str(name)[:100]] = [_("Usage events take no field of this name.")]
        customer = event.get("customer")
        if not _identifier(customer):
            problems["customer"] = [_("Give the id of the customer (a positive integer).")]
        subscription = event.get("subscription")
        if subscription is not None and not _identifier(subscription):
            problems["subscription"] = [
                _("Give the id of the subscription (a positive integer), or leave it out.")
            ]
        # Messages are translated only when needed: gettext would be most of this loop's time.
        transaction_id = event.get("transaction_id")
        if (
            not isinstance(transaction_id, str)
            or not transaction_id
            or len(transaction_id) > MAX_TRANSACTION_ID
        ):
            problems["transaction_id"] = [_text_refused(MAX_TRANSACTION_ID, _("transaction id"))]
        code = event.get("code")
        if not isinstance(code, str) or not code or len(code) > MAX_CODE:
            problems["code"] = [_text_refused(MAX_CODE, _("event code"))]
        timestamp = _parse_timestamp(event.get("timestamp"))
        if isinstance(timestamp, str):
            problems["timestamp"] = [timestamp]
        elif timestamp > latest:
            problems["timestamp"] = [
                _(
                    "The timestamp %(timestamp)s is more than 5 minutes ahead of our clock "
                    "(%(now)s): send events when they happened, in UTC or with their offset."
                )
                % {"timestamp": timestamp.isoformat(), "now": received.isoformat()}
            ]
        elif timestamp < earliest:
            problems["timestamp"] = [
                _(
                    "The timestamp %(timestamp)s is more than 400 days old: such usage can no "
                    "longer be billed."
                )
                % {"timestamp": timestamp.isoformat()}
            ]
        properties = event.get("properties")
        serialized = "{}"
        raw: dict = {}
        if properties is not None:
            if not isinstance(properties, dict) or not all(_scalar(v) for v in properties.values()):
                problems["properties"] = [
                    _(
                        "The properties are a JSON object whose values are texts, numbers "
                        "(at most %(max)s either way), true, false or null."
                    )
                    % {"max": "10^12"}
                ]
            else:
                raw = properties
                serialized = json.dumps(properties, ensure_ascii=False, separators=(",", ":"))
                if len(serialized.encode()) > MAX_PROPERTIES_BYTES:
                    problems["properties"] = [
                        _("The properties take at most %(limit)s bytes of JSON.")
                        % {"limit": MAX_PROPERTIES_BYTES}
                    ]
        if problems:
            errors[str(index)] = problems
            continue
        assert isinstance(timestamp, datetime)
        parsed.append(
            _Event(
                index=index,
                customer_id=customer,  # type: ignore[arg-type]  # checked by _identifier
                subscription_id=subscription,
                named=subscription is not None,
                transaction_id=transaction_id,  # type: ignore[arg-type]  # checked by _text
                code=code,  # type: ignore[arg-type]  # checked by _text
                timestamp=timestamp,
                # counted_at(timestamp, received), inlined: it runs for every event
                counted_at=timestamp if timestamp >= window_start else window_start,
                properties=serialized,
                raw_properties=raw,
            )
        )
    return parsed, errors


# Resolving subscriptions ---------------------------------------------------------------------


def _candidates(customer_ids: set[int], codes: set[str]) -> dict[tuple[int, str], set[int]]:
    """(customer, event code) → the live subscriptions charging or limiting that code: one
    query (a UNION of the plan's usage charges, the plan's features, the add-ons' features)."""
    live = Subscription.objects.filter(
        customer_id__in=customer_ids, status__in=Subscription.LIVE_STATUSES
    ).order_by()
    charged = live.filter(plan__usage_charges__metric__event_code__in=codes).values_list(
        "pk", "customer_id", "plan__usage_charges__metric__event_code"
    )
    limited = live.filter(plan__plan_features__feature__metric__event_code__in=codes).values_list(
        "pk", "customer_id", "plan__plan_features__feature__metric__event_code"
    )
    addon = "items__bundle__bundle_features__feature__metric__event_code"
    added = live.filter(
        **{f"{addon}__in": codes, "items__kind": SubscriptionItem.Kind.ADDON}
    ).values_list("pk", "customer_id", addon)
    found: dict[tuple[int, str], set[int]] = {}
    for pk, customer_id, code in charged.union(limited, added):
        found.setdefault((customer_id, code), set()).add(pk)
    return found


def _resolve(
    parsed: list[_Event], customers: QuerySet[Customer] | None
) -> dict[str, dict[str, list[str]]]:
    errors: dict[str, dict[str, list[str]]] = {}
    customer_ids = {e.customer_id for e in parsed}
    scope = Customer.objects.all() if customers is None else customers
    known = set(scope.filter(pk__in=customer_ids).values_list("pk", flat=True))
    named_ids = {e.subscription_id for e in parsed if e.subscription_id is not None}
    named: dict[int, tuple[int, str]] = {}
    if named_ids:
        named = {
            pk: (customer_id, status)
            for pk, customer_id, status in Subscription.objects.filter(
                pk__in=named_ids
            ).values_list("pk", "customer_id", "status")
        }
    unnamed = [e for e in parsed if not e.named and e.customer_id in known]
    candidates = (
        _candidates({e.customer_id for e in unnamed}, {e.code for e in unnamed}) if unnamed else {}
    )
    for event in parsed:
        key = str(event.index)
        if event.customer_id not in known:
            errors[key] = {"customer": [_("No customer with this id.")]}
            continue
        if event.named:
            owner = named.get(event.subscription_id)  # type: ignore[arg-type]
            if owner is None or owner[0] != event.customer_id:
                errors[key] = {
                    "subscription": [_("This customer has no subscription with this id.")]
                }
            elif owner[1] not in Subscription.LIVE_STATUSES:
                errors[key] = {
                    "subscription": [
                        _("This subscription has ended: usage can no longer be recorded on it.")
                    ]
                }
            continue
        found = candidates.get((event.customer_id, event.code))
        if found is None:
            event.subscription_id = None  # kept, counted by no subscription
        elif len(found) == 1:
            (event.subscription_id,) = found
        else:
            errors[key] = {
                "subscription": [
                    _(
                        "The customer has several live subscriptions counting “%(code)s” "
                        "(%(ids)s): name the subscription this event belongs to."
                    )
                    % {"code": event.code, "ids": ", ".join(str(i) for i in sorted(found))}
                ]
            }
    return errors


# Writing -------------------------------------------------------------------------------------


def _insert(events: list[_Event], received: datetime) -> set[tuple[int, str]]:
    """One INSERT … ON CONFLICT DO NOTHING; returns the (customer, transaction id) inserted."""
    if not events:
        return set()
    table = connection.ops.quote_name(UsageEvent._meta.db_table)
    columns = (
        "customer_id, subscription_id, transaction_id, code, timestamp, counted_at, "
        "properties, received_at"
    )
    adapt = connection.ops.adapt_datetimefield_value
    received_value = adapt(received)
    if connection.vendor == "postgresql":
        # The batch as one JSON parameter, unpacked by PostgreSQL: one short statement whatever
        # the batch's size, and one string for the driver to send (binding 8,000 parameters
        # cost more than the insert itself).
        sql = (
            f"INSERT INTO {table} ({columns}) SELECT {columns} "  # noqa: S608 - names only
            "FROM jsonb_to_recordset(%s::jsonb) AS x(customer_id bigint, subscription_id bigint, "
            "transaction_id varchar, code varchar, timestamp timestamptz, counted_at timestamptz, "
            "properties jsonb, received_at timestamptz) "
            "ON CONFLICT ON CONSTRAINT usage_event_unique_transaction DO NOTHING "
            "RETURNING customer_id, transaction_id"
        )
        at = received.isoformat()
        rows = [
            {
                "customer_id": e.customer_id,
                "subscription_id": e.subscription_id,
                "transaction_id": e.transaction_id,
                "code": e.code,
                "timestamp": e.timestamp.isoformat(),
                "counted_at": e.counted_at.isoformat(),
                "properties": e.raw_properties,
                "received_at": at,
            }
            for e in events
        ]
        params: list[Any] = [json.dumps(rows, ensure_ascii=False, separators=(",", ":"))]
    else:
        row = "(%s, %s, %s, %s, %s, %s, %s, %s)"
        sql = (
            f"INSERT INTO {table} ({columns}) VALUES "  # noqa: S608 - placeholders only
            + ", ".join([row] * len(events))
            + " ON CONFLICT (customer_id, transaction_id) DO NOTHING"
            " RETURNING customer_id, transaction_id"
        )
        params = []
        for e in events:
            params += [
                e.customer_id,
                e.subscription_id,
                e.transaction_id,
                e.code,
                adapt(e.timestamp),
                adapt(e.counted_at),
                e.properties,
                received_value,
            ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {(customer_id, transaction_id) for customer_id, transaction_id in cursor.fetchall()}


# Limits --------------------------------------------------------------------------------------

ENFORCED = (Feature.Enforcement.HARD, Feature.Enforcement.SOFT)


def _enforced(limits: list[UsageLimit]) -> dict[tuple[int, int], UsageLimit]:
    return {
        (u.customer_id, u.feature.pk): u
        for u in limits
        if u.enforcement in ENFORCED and u.limit is not None
    }


def _customers_limited(customer_ids: set[int], codes: list[str]) -> set[int]:
    """The customers whose live, not suspended subscriptions have a hard or soft limit on a
    feature counted against one of these codes (plan or add-on): one query, so that a batch
    without any reads no usage."""
    live = Subscription.objects.filter(
        customer_id__in=customer_ids,
        status__in=Subscription.LIVE_STATUSES,
        suspended_since__isnull=True,
    ).order_by()
    by_plan = live.filter(
        plan__plan_features__feature__metric__event_code__in=codes,
        plan__plan_features__feature__enforcement__in=ENFORCED,
        plan__plan_features__limit__isnull=False,
    ).values_list("customer_id")
    by_addon = live.filter(
        items__kind=SubscriptionItem.Kind.ADDON,
        items__bundle__bundle_features__feature__metric__event_code__in=codes,
        items__bundle__bundle_features__feature__enforcement__in=ENFORCED,
    ).values_list("customer_id")
    return {customer_id for (customer_id,) in by_plan.union(by_addon)}


def _lock_customers(customer_ids: set[int]) -> None:
    """Serialize the batches of these customers until the commit (in id order: no deadlock).
    FOR NO KEY UPDATE: the events' foreign keys (FOR KEY SHARE) do not wait on it."""
    list(
        Customer.objects.select_for_update(no_key=True)
        .filter(pk__in=customer_ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _limits_passed(
    before: dict[tuple[int, int], UsageLimit],
    after: dict[tuple[int, int], UsageLimit],
    touched: set[int],
) -> list[LimitPassed]:
    """Refuse a batch that passes a hard limit; the soft limits passed for the first time."""
    passed = []
    for key, old in before.items():
        new = after.get(key)
        if new is None or new.used <= old.used:
            continue
        assert old.limit is not None
        if old.enforcement == Feature.Enforcement.HARD and new.used > old.limit:
            raise UsageLimitExceeded(usage_limit=old, used_after=new.used)
        if old.used <= old.limit < new.used:
            for subscription_id in new.subscription_ids:
                if subscription_id in touched:
                    passed.append(
                        LimitPassed(
                            customer_id=old.customer_id,
                            subscription_id=subscription_id,
                            feature=old.feature.code,
                            metric=old.metric.code,
                            limit=old.limit,
                            used=new.used,
                            period_start=old.period.start,
                            period_end=old.period.end,
                        )
                    )
    return passed


def _notify(passed: list[LimitPassed]) -> None:
    for p in passed:
        send(
            "integrations.usage_limit_exceeded",
            p.subscription_id,
            p.feature,
            p.metric,
            str(p.limit),
            str(p.used),
            p.period_start.isoformat(),
            p.period_end.isoformat(),
        )


# The service ---------------------------------------------------------------------------------


def usage_events_record(
    *,
    events: list[dict],
    received: datetime | None = None,
    customers: QuerySet[Customer] | None = None,
) -> UsageBatchResult:
    """Record a batch of usage events (module docstring). `customers` narrows the customers
    the caller may record for (the API's tenant): another's is "no customer with this id"."""
    received = received or timezone.now()
    if not isinstance(events, list) or not 1 <= len(events) <= MAX_BATCH:
        raise ApplicationError(
            _("Send 1 to %(max)s events at a time.") % {"max": MAX_BATCH}, field="events"
        )
    parsed, errors = _check(events, received)
    if errors:
        raise UsageBatchError(errors)
    with transaction.atomic():
        errors = _resolve(parsed, customers)
        if errors:
            raise UsageBatchError(dict(sorted(errors.items(), key=lambda kv: int(kv[0]))))

        # The first occurrence of a transaction id in the batch is the one stored.
        first: dict[tuple[int, str], _Event] = {}
        for event in parsed:
            first.setdefault((event.customer_id, event.transaction_id), event)
        unique = list(first.values())

        day = received.astimezone(billing_zone()).date()
        counted = {e.customer_id for e in unique if e.subscription_id is not None}
        codes = sorted({e.code for e in unique if e.subscription_id is not None})
        before: dict[tuple[int, int], UsageLimit] = {}
        limited = _customers_limited(counted, codes) if counted else set()
        if limited:
            # Locked before the usage is read, until the commit: a batch racing this one reads
            # the usage with this batch's events in it.
            _lock_customers(limited)
            before = _enforced(
                usage_limits(customer_ids=sorted(limited), event_codes=codes, day=day)
            )

        inserted = _insert(unique, received)

        passed: list[LimitPassed] = []
        touched = {
            e.subscription_id
            for e in unique
            if e.customer_id in limited
            and e.subscription_id is not None
            and (e.customer_id, e.transaction_id) in inserted
        }
        if before and touched:
            after = _enforced(
                usage_limits(customer_ids=sorted(limited), event_codes=codes, day=day)
            )
            passed = _limits_passed(before, after, touched)
            if passed:
                transaction.on_commit(lambda: _notify(passed))

    outcomes = [
        EventOutcome(
            index=e.index,
            transaction_id=e.transaction_id,
            status=RECORDED
            if first[(e.customer_id, e.transaction_id)] is e
            and (e.customer_id, e.transaction_id) in inserted
            else DUPLICATE,
            subscription_id=e.subscription_id,
        )
        for e in parsed
    ]
    recorded = sum(1 for o in outcomes if o.status == RECORDED)
    return UsageBatchResult(
        recorded=recorded,
        duplicates=len(outcomes) - recorded,
        events=outcomes,
        limits_passed=passed,
    )
