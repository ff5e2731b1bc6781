"""Honest benchmark data (issue 19, step 1): N subscriptions for the billing run on D = 2027-01-01
whose rows are exactly those the services write.

Two stages:

1. *Archetypes* (`ARCHETYPES`, 300 by default, capped at N): customers and subscriptions made
   through the real services (partners.services.subscription_sell, seats_add,
   subscription_change_plan, subscription_cancel, coupon_redeem, subscription_fulfil,
   usage_events_record), each on its own date before D (time_machine), with the nightly billing
   run played day by day in between (as the demo does), so that everything due before D is
   invoiced. Changes that must be billed by the run on D (seat additions and upgrades inside a
   period: prorations) are made on D itself, before the run. Every quantity is drawn (seed
   20270101), so archetypes of one kind differ.
2. *Copies*: the archetypes' rows copied in SQL up to N subscriptions, with id offsets (one
   stride per table): customers, partner links, subscriptions, seats, items, discounts, timeline
   events (their JSON as it is; `revoked_by` and the discounts' and redemptions' `event`
   follow the offsets), coupon redemptions. What varies safely: the customer's name, email and
   (sold directly) language; its add-on quantities, seats (at a boundary, or added on D) and
   platform storage, rewritten in every row that carries them (the `created` or `seats_added`
   entry's JSON, the seats, the items); and, on the metered plan, its own December events.
   Invoices already issued before D are not copied (the run on D does not read them: the check
   below proves it for the sample).

`verify()` is the correctness check (docs/benchmarks.md, "Honest data").

Shares (weights of the archetype kinds; the copies keep them):

| kind            | share | plan, currency                | what the run on D bills |
|-----------------|------:|-------------------------------|-------------------------|
| device-boundary |  16 % | device-seats, EUR, partner 80 % (20/15 % off) or direct; 1/3/5-year service period (0/10/15 % off) | the quarter starting on D |
| device-add      |  12 % | same, period not on D         | proration of 1–12 seats added on D (copies: 1–2,000) |
| office          |  14 % | office-24m, EUR; add-on service ×1–6 (copies ×1–10,000) (70 %), coupon −20 % on it redeemed on D (half of those) | the month; a cancellation (prorated penalty, invoiced the day it is asked): on D 25 %, in December 10 % (ends on D) |
| hosting-upgrade |  10 % | hosting-a → hosting-b, CAD, mid-month on D | proration (credit A, charge B) |
| hosting-boundary|  12 % | hosting-a/b, CAD; add-on ×1–6 (copies ×1–10,000) (60 %); downgrade B→A requested in December (half of B), cancellation (allowed, 20 %) | the month starting on D (on the new plan) |
| backup-trial    |  10 % | cloud-backup-monthly, EUR; 14-day trial ending on D; add-on ×1–6 (copies ×1–10,000) (50 %); welcome voucher (−10 %, 3 periods) 50 % | the first month |
| backup-cancel   |   6 % | cloud-backup-monthly, boundary on D; cancellation (forbidden: at the commitment end) | the month |
| platform        |   8 % | platform-yearly, EUR; storage option (graduated tiers, 1–120 GB; copies 1–5,000); start 1 or 2 years back (renewal) | the year, storage |
| metered         |  12 % | api-metered-monthly, EUR, its free allowance set to 1,000 calls by the bench's operator; December calls 10–300 (80 %) or 1,001–2,000 (graduated above the free 1,000) | the month's fee and December's usage |

Languages: fr/en at random (direct sales); countries FR (EUR) and CA (CAD).
"""

from __future__ import annotations

import json
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import time_machine
from dateutil.relativedelta import relativedelta
from django.db import connection, transaction
from django.db.models import Min

DAY = date(2027, 1, 1)
SEED = 20270101

KINDS: list[tuple[str, int]] = [
    ("device-boundary", 16),
    ("device-add", 12),
    ("office", 14),
    ("hosting-upgrade", 10),
    ("hosting-boundary", 12),
    ("backup-trial", 10),
    ("backup-cancel", 6),
    ("platform", 8),
    ("metered", 12),
]


@dataclass
class Archetype:
    kind: str
    customer_id: int = 0
    subscription_id: int = 0
    usage: int = 0  # December api calls (metered)
    recipe: dict = field(default_factory=dict)
    index: int = 0


def _at(day: date, hour: int = 12):
    return time_machine.travel(datetime.combine(day, time(hour), tzinfo=UTC), tick=False)


# Catalog ---------------------------------------------------------------------------------------


def setup_catalog() -> dict:
    from catalog import services as catalog_services
    from catalog.models import Bundle, CouponCampaign, Plan, SeatType
    from demo.catalog import seed_catalog
    from partners.models import Partner
    from subscriptions import services

    with transaction.atomic():
        seed_catalog()
        _free_allowance()
        # The demo's two partners (demo/partners.py), without the demo's own subscriptions.
        for code, name, percent, country, locale in (
            ("acme", "Acme Resellers", "20.00", "FR", "fr"),
            ("nordic", "Nordic Devices", "15.00", "NO", "en"),
        ):
            account = services.customer_create(
                name=f"{name} (account)", email=f"billing@{code}.example",
                address_line1="1 rue des Entrepreneurs", postal_code="69100", city="Lyon",
                country=country, currency="EUR", locale=locale,
            )  # fmt: skip
            Partner.objects.create(
                code=code, name=name, email=f"orders@{code}.example",
                discount_percent=Decimal(percent), account=account,
            )  # fmt: skip
        campaigns = {}
        for code, kind, bundle in (
            ("honest-coupon", "coupon", "coupon-service-20"),
            ("honest-voucher", "voucher", "welcome"),
        ):
            campaign = CouponCampaign.objects.create(
                code=code,
                name=code,
                kind=kind,
                bundle=Bundle.objects.get(code=bundle),
                code_template=f"{code.upper()}-######",
                charset="numeric",
                quantity=1000,
                redemption_quantity=1,
                range_start=1,
            )
            if hasattr(catalog_services, "coupon_campaign_activate"):
                catalog_services.coupon_campaign_activate(campaign=campaign)
            catalog_services.coupon_codes_generate(campaign=campaign)
            campaigns[kind] = campaign
    return {
        "plans": {p.code: p for p in Plan.objects.all()},
        "bundles": {b.code: b for b in Bundle.objects.all()},
        "seat_types": {s.code: s for s in SeatType.objects.all()},
        "storage_product": Bundle.objects.get(code="storage").items.first().product_id,
        "partners": list(Partner.objects.order_by("code")),
        "codes": {
            kind: list(c.codes.order_by("pk").values_list("code", flat=True))
            for kind, c in campaigns.items()
        },
    }


# Archetypes ------------------------------------------------------------------------------------


def _month_start(rng: random.Random, back_min: int, back_max: int) -> date:
    return DAY - relativedelta(months=rng.randint(back_min, back_max))


def _customer(rng: random.Random, ctx: dict, i: int, *, cad: bool, partner=None):
    from partners.services import partner_customer_create
    from subscriptions import services

    fields = {
        "name": f"Archetype {i:04d}",
        "email": f"a{i}@honest.example",
        "address_line1": f"{i % 90 + 1} rue du Commerce" if not cad else f"{i % 90 + 1} King St",
        "postal_code": "75002" if not cad else "M5H 1A1",
        "city": "Paris" if not cad else "Toronto",
        "country": "FR" if not cad else "CA",
        "currency": "EUR" if not cad else "CAD",
        "locale": rng.choice(["fr", "en"]),
    }
    if partner is not None:
        return partner_customer_create(partner=partner, **fields)
    return services.customer_create(**fields)


FREE_CALLS = 1000


def _calls(rng: random.Random) -> int:
    """December's API calls: most under the free 1,000, a fifth above (a usage amount).

    One event per call, as the API receives them. The demo's allowance is 10,000 free calls;
    the bench lowers it to 1,000 (`_free_allowance`) and draws ten times fewer calls, so the
    copies carry about 5 million events at N = 100,000 instead of 40 million: the same rules
    billed, the same share above the allowance, a generation that fits in minutes."""
    return rng.randint(10, 300) if rng.random() < 0.8 else rng.randint(FREE_CALLS + 1, 2000)


def _free_allowance() -> None:
    """The operator's edit in the admin: the metered plan's first tier ends at FREE_CALLS."""
    from catalog.models import PriceTier

    tiers = PriceTier.objects.filter(price_sheet__code="api-calls-graduated-eur")
    tiers.filter(first_unit=1).update(last_unit=FREE_CALLS)
    tiers.exclude(first_unit=1).update(first_unit=FREE_CALLS + 1)


def plan_archetype(rng: random.Random, kind: str, index: int) -> dict:
    """Draw an archetype's recipe: dates and quantities (no database)."""
    r: dict = {"kind": kind, "index": index}
    if kind.startswith("device"):
        r["partner"] = rng.random() < 0.8
        r["years"] = rng.choice([1, 1, 3, 5])
        r["seats"] = {"gateway": rng.randint(1, 40), "sensor": rng.randint(0, 40)}
        if kind == "device-boundary":
            r["start"] = DAY - relativedelta(months=3 * rng.randint(1, 3))
        else:
            r["start"] = DAY - timedelta(days=rng.randint(15, 80))
            r["add"] = (rng.choice(["gateway", "sensor"]), rng.randint(1, 12))
    elif kind == "office":
        r["start"] = _month_start(rng, 2, 20)
        r["addon"] = rng.randint(1, 6) if rng.random() < 0.7 else 0
        r["coupon"] = bool(r["addon"]) and rng.random() < 0.5
        # A cancellation's penalty is invoiced on the day it is asked for: on D for most (a
        # subscription cancelled before D ends on D and takes no coupon).
        x = rng.random()
        early = x < 0.35 and not r["coupon"]
        r["cancel_on"] = (
            DAY if x < 0.25 else DAY - timedelta(days=rng.randint(1, 25)) if early else None
        )
    elif kind == "hosting-upgrade":
        r["start"] = (
            DAY - relativedelta(months=rng.randint(1, 6)) - timedelta(days=rng.randint(3, 25))
        )
        r["plan"] = "hosting-a"
    elif kind == "hosting-boundary":
        r["start"] = _month_start(rng, 1, 10)
        r["plan"] = rng.choice(["hosting-a", "hosting-b"])
        r["addon"] = rng.randint(1, 6) if rng.random() < 0.6 else 0
        x = rng.random()
        r["downgrade_on"] = (
            DAY - timedelta(days=rng.randint(2, 20))
            if r["plan"] == "hosting-b" and x < 0.5
            else None
        )
        r["cancel_on"] = DAY - timedelta(days=rng.randint(2, 20)) if x > 0.8 else None
    elif kind == "backup-trial":
        r["start"] = DAY - timedelta(days=14)
        r["addon"] = rng.randint(1, 6) if rng.random() < 0.5 else 0
        r["voucher"] = rng.random() < 0.5
    elif kind == "backup-cancel":
        r["start"] = _month_start(rng, 2, 10) - timedelta(days=14)  # the trial, then monthly on D
        r["cancel_on"] = DAY - timedelta(days=rng.randint(2, 25))
    elif kind == "platform":
        r["start"] = DAY - relativedelta(years=rng.choice([1, 2]))
        r["storage"] = rng.randint(1, 120)
    elif kind == "metered":
        r["start"] = _month_start(rng, 1, 6)
        r["usage"] = _calls(rng)
    return r


def _actions(r: dict, i: int, ctx: dict, rng: random.Random, arche: Archetype):
    """The recipe as dated service calls."""
    from partners.services import subscription_sell
    from subscriptions import services
    from subscriptions.models import Subscription

    plans, bundles, seat_types = ctx["plans"], ctx["bundles"], ctx["seat_types"]
    kind = r["kind"]
    out: list[tuple[date, int, callable]] = []

    def sub():
        return Subscription.objects.get(pk=arche.subscription_id)

    def create():
        start = r["start"]
        partner = None
        if kind.startswith("device") and r["partner"]:
            partner = ctx["partners"][r["index"] % len(ctx["partners"])]
        cad = kind.startswith("hosting")
        customer = _customer(rng, ctx, i, cad=cad, partner=partner)
        kwargs: dict = {"start_date": start, "today": start, "channel": "bench"}
        if kind.startswith("device"):
            plan = plans["device-seats"]
            kwargs["seats"] = {seat_types[c].pk: q for c, q in r["seats"].items() if q}
            kwargs["service_period_years"] = r["years"]
        elif kind == "office":
            plan = plans["office-24m"]
            if r["addon"]:
                kwargs["addons"] = {bundles["service-plus-eur"].pk: r["addon"]}
        elif kind.startswith("hosting"):
            plan = plans[r["plan"]]
            if r.get("addon"):
                kwargs["addons"] = {bundles["service-plus-cad"].pk: r["addon"]}
        elif kind.startswith("backup"):
            plan = plans["cloud-backup-monthly"]
            if r.get("addon"):
                kwargs["addons"] = {bundles["service-plus-eur"].pk: r["addon"]}
        elif kind == "platform":
            plan = plans["platform-yearly"]
            kwargs["options"] = {ctx["storage_product"]: r["storage"]}
        else:
            plan = plans["api-metered-monthly"]
        result = subscription_sell(customer=customer, plan=plan, invoice_now=False, **kwargs)
        arche.customer_id, arche.subscription_id = customer.pk, result.subscription.pk
        if kind == "platform":
            services.subscription_fulfil(subscription=result.subscription, today=start)
        if r.get("voucher"):
            services.coupon_redeem(
                subscription=result.subscription, code=ctx["codes"]["voucher"].pop(), today=start
            )

    out.append((r["start"], 0, create))
    if r.get("add"):
        code, qty = r["add"]
        out.append(
            (DAY, 1, lambda: services.seats_add(
                subscription=sub(), seat_type=seat_types[code], quantity=qty, today=DAY))
        )  # fmt: skip
    if kind == "hosting-upgrade":
        out.append(
            (DAY, 1, lambda: services.subscription_change_plan(
                subscription=sub(), plan=plans["hosting-b"], today=DAY))
        )  # fmt: skip
    if r.get("downgrade_on"):
        on = r["downgrade_on"]
        out.append(
            (on, 1, lambda: services.subscription_change_plan(
                subscription=sub(), plan=plans["hosting-a"], today=on))
        )  # fmt: skip
    if r.get("coupon"):
        out.append(
            (DAY, 2, lambda: services.coupon_redeem(
                subscription=sub(), code=ctx["codes"]["coupon"].pop(), today=DAY))
        )  # fmt: skip
    if r.get("cancel_on"):
        on = r["cancel_on"]
        out.append((on, 3, lambda: services.subscription_cancel(subscription=sub(), today=on)))
    if kind == "metered":
        arche.usage = r["usage"]
        out.append((DAY - timedelta(days=1), 4, lambda: _usage(sub(), r["usage"])))
    return out


def _usage(subscription, count: int) -> None:
    """December's calls, recorded through the ingestion service in batches of 1,000."""
    from subscriptions import services

    start = datetime(2026, 12, 1, 8, tzinfo=UTC)
    step = (datetime(2026, 12, 31, 20, tzinfo=UTC) - start) / count
    for first in range(0, count, 1000):
        events = [
            {
                "customer": subscription.customer_id,
                "subscription": subscription.pk,
                "transaction_id": f"h-{subscription.pk}-{n}",
                "code": "api_call",
                "timestamp": start + step * n,
                "properties": {},
            }
            for n in range(first, min(first + 1000, count))
        ]
        received = events[-1]["timestamp"] + timedelta(minutes=1)
        with time_machine.travel(received, tick=False):  # sent as they happen
            services.usage_events_record(events=events, received=received)


def _bill_until(last: date) -> None:
    """The nightly run for every day up to `last` that has work, as the demo does."""
    from billing.services import billing_run
    from subscriptions.models import Subscription

    while True:
        day = Subscription.objects.filter(next_billing_date__lte=last).aggregate(
            d=Min("next_billing_date")
        )["d"]
        if day is None:
            return
        with _at(day + timedelta(days=1), 2):
            billing_run(day=day, send_emails=False, processes=1)


def make_archetypes(count: int, seed: int = SEED) -> tuple[list[Archetype], dict]:
    """`count` archetypes through the services, everything before D billed; the changes of D made."""
    rng = random.Random(seed)
    ctx = setup_catalog()
    names, weights = zip(*KINDS, strict=True)
    archetypes = []
    for i in range(count):
        kind = names[i % len(names)] if i < len(names) else rng.choices(names, weights)[0]
        recipe = plan_archetype(rng, kind, i)
        archetypes.append(Archetype(kind, recipe=recipe, index=i))
    _play(archetypes, ctx, rng)
    return archetypes, ctx


def _play(archetypes: list[Archetype], ctx: dict, rng: random.Random) -> None:
    """Every recipe's service calls in date order, the nightly run played in between up to
    D - 1 (so that everything due before D is invoiced); the changes dated D made last."""
    actions = []
    for arche in archetypes:
        actions += [
            (d, o, arche.index, fn)
            for d, o, fn in _actions(arche.recipe, arche.index, ctx, rng, arche)
        ]
    actions.sort(key=lambda a: (a[0], a[1], a[2]))
    for day, _order, _i, fn in actions:
        _bill_until(day - timedelta(days=1))
        with _at(day, 10):
            fn()
    _bill_until(DAY - timedelta(days=1))


# Copies ----------------------------------------------------------------------------------------


def _copy_models():
    from partners.models import PartnerCustomer
    from subscriptions.models import (
        CouponRedemption,
        Customer,
        Subscription,
        SubscriptionDiscount,
        SubscriptionEvent,
        SubscriptionItem,
        SubscriptionSeat,
    )

    # model, the join of its rows to the copy map
    return [
        (Customer, "t.id = m.arch_cust"),
        (PartnerCustomer, "t.customer_id = m.arch_cust"),
        (Subscription, "t.id = m.arch_sub"),
        (SubscriptionSeat, "t.subscription_id = m.arch_sub"),
        (SubscriptionItem, "t.subscription_id = m.arch_sub"),
        (SubscriptionEvent, "t.subscription_id = m.arch_sub"),
        (SubscriptionDiscount, "t.subscription_id = m.arch_sub"),
        (CouponRedemption, "t.subscription_id = m.arch_sub"),
    ]


def vary(rng: random.Random, recipe: dict) -> dict:
    """A copy's recipe: the archetype's, with the quantities that nothing but the created entry,
    the seats and the items carry drawn anew (device seats at a boundary, the platform's storage,
    add-ons, seats added on D) and, for the metered plan, its own December calls. The ranges are
    wide on purpose: copies must not repeat each other's invoices (at least 40 % of the invoices
    distinct at N = 100,000), or the price memos would flatter the run. The add-on is priced
    flat (billing-rules: once per period whatever the quantity), so its count changes the
    state, the memo's key and the printed quantity, not the amount: at 1–1,000 the 10,000
    copies of each add-on kind repeated their 1,000 counts (33.7 % distinct at 100,000)."""
    r = dict(recipe)
    if r["kind"] == "device-boundary":
        r["seats"] = {c: rng.randint(1, 500) if q else 0 for c, q in r["seats"].items()}
    if r["kind"] == "platform":
        r["storage"] = rng.randint(1, 5000)
    if r.get("addon"):
        r["addon"] = rng.randint(1, 10000)
    if r["kind"] == "device-add":
        r["add"] = (r["add"][0], rng.randint(1, 2000))
    if r["kind"] == "metered":
        r["usage"] = _calls(rng)
    return r


def _patch(r: dict, ctx: dict) -> dict:
    """The created entry's keys that a varied recipe changes (as the services write them)."""
    kind, patch = r["kind"], {}
    if kind == "device-boundary":
        patch["seats"] = {str(ctx["seat_types"][c].pk): q for c, q in r["seats"].items() if q}
    if kind == "platform":
        patch["options"] = {str(ctx["storage_product"]): r["storage"]}
    if r.get("addon"):
        bundle = "service-plus-cad" if kind.startswith("hosting") else "service-plus-eur"
        patch["addons"] = {str(ctx["bundles"][bundle].pk): r["addon"]}
    return patch


def replicate(archetypes: list[Archetype], n: int, ctx: dict, seed: int = SEED) -> dict:
    """Copy the archetypes' rows in SQL until there are n subscriptions (round robin);
    returns {copy subscription id: (archetype, the copy's recipe)}."""
    from subscriptions.models import Customer, UsageEvent

    rng = random.Random(seed + 1)
    copies = n - len(archetypes)
    models = _copy_models()
    with connection.cursor() as cursor:
        strides = {}
        for model, _join in models:
            table = model._meta.db_table
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}")  # noqa: S608
            strides[model] = cursor.fetchone()[0]
        cursor.execute(
            "CREATE TEMP TABLE honest_map (arch_sub int, arch_cust int, c int, locale text,"
            " usage int, patch jsonb, add_type int, add_delta int)"
        )
        rows, recipes = [], {}
        per_arch = Counter()
        for k in range(copies):
            a = archetypes[k % len(archetypes)]
            per_arch[a.subscription_id] += 1
            r = vary(rng, a.recipe)
            recipes[(a.subscription_id, per_arch[a.subscription_id])] = (a, r)
            add_type = add_delta = 0
            if r.get("add"):
                add_type = ctx["seat_types"][r["add"][0]].pk
                add_delta = r["add"][1] - a.recipe["add"][1]
            rows.append((a.subscription_id, a.customer_id, per_arch[a.subscription_id],
                         rng.choice(["fr", "en"]), r.get("usage", 0),
                         json.dumps(_patch(r, ctx)), add_type, add_delta))  # fmt: skip
        with cursor.copy("COPY honest_map FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute("CREATE INDEX ON honest_map (arch_sub)")
        copied = set(strides)
        for model, join in models:
            table = model._meta.db_table
            columns, values = [], []
            for f in model._meta.concrete_fields:
                columns.append(f.column)
                if f.primary_key:
                    values.append(f"t.id + m.c * {strides[model]}")
                elif f.is_relation and f.related_model is Customer:
                    values.append(
                        f"CASE WHEN t.{f.column} = m.arch_cust THEN t.{f.column} + m.c * "
                        f"{strides[Customer]} ELSE t.{f.column} END"
                    )
                elif f.is_relation and f.related_model in copied:
                    values.append(f"t.{f.column} + m.c * {strides[f.related_model]}")
                elif model is Customer and f.column == "name":
                    values.append("t.name || ' / ' || m.c")
                elif model is Customer and f.column == "email":
                    values.append("'c' || m.c || '.' || t.email")
                elif model is Customer and f.column == "locale":
                    # The partner's customers: the partner's language prints; direct: drawn.
                    values.append(
                        "CASE WHEN EXISTS (SELECT 1 FROM partners_partnercustomer p WHERE "
                        "p.customer_id = t.id) THEN t.locale ELSE m.locale END"
                    )
                else:
                    values.append(f"t.{f.column}")
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608 - names only
                f"SELECT {', '.join(values)} FROM {table} t JOIN honest_map m ON {join}"
            )
        # December's calls of the metered copies: their own count, spread like the archetype's.
        cols = [f.column for f in UsageEvent._meta.concrete_fields if f.column != "id"]
        sub_stride = strides[_copy_models()[2][0]]
        cust_stride = strides[Customer]
        expr = {
            "customer_id": f"m.arch_cust + m.c * {cust_stride}",
            "subscription_id": f"m.arch_sub + m.c * {sub_stride}",
            "transaction_id": "'h-' || (m.arch_sub + m.c * " + str(sub_stride) + ") || '-' || g",
            "code": "'api_call'",
            "timestamp": "timestamptz '2026-12-01 08:00Z' + (g * interval '732 hours' / m.usage)",
            "counted_at": "timestamptz '2026-12-01 08:00Z' + (g * interval '732 hours' / m.usage)",
            "properties": "'{}'::jsonb",
            "received_at": "timestamptz '2026-12-01 08:00Z' + (g * interval '732 hours' / m.usage)",
        }
        cursor.execute(
            f"INSERT INTO {UsageEvent._meta.db_table} ({', '.join(cols)}) "  # noqa: S608
            f"SELECT {', '.join(expr[c] for c in cols)} FROM honest_map m, "
            "generate_series(0, m.usage - 1) g WHERE m.usage > 0"
        )
        # The varied quantities: the created entry, the seats and the items, as the services
        # write them from the order.
        event_table = _copy_models()[5][0]._meta.db_table
        cursor.execute(
            f"UPDATE {event_table} e SET data = e.data || m.patch FROM honest_map m "  # noqa: S608
            f"WHERE e.subscription_id = m.arch_sub + m.c * {sub_stride} AND e.kind = 'created' "
            "AND m.patch <> '{}'::jsonb"
        )
        cursor.execute(
            "UPDATE subscriptions_subscriptionseat s SET quantity = "  # noqa: S608
            "(m.patch->'seats'->>s.seat_type_id::text)::int FROM honest_map m "
            f"WHERE s.subscription_id = m.arch_sub + m.c * {sub_stride} AND m.patch ? 'seats'"
        )
        cursor.execute(
            "UPDATE subscriptions_subscriptionitem i SET quantity = CASE i.kind "  # noqa: S608
            "WHEN 'option' THEN (m.patch->'options'->>i.product_id::text)::int "
            "ELSE (m.patch->'addons'->>i.bundle_id::text)::int END FROM honest_map m "
            f"WHERE i.subscription_id = m.arch_sub + m.c * {sub_stride} "
            "AND ((i.kind = 'option' AND m.patch ? 'options') OR "
            "(i.kind = 'addon' AND m.patch ? 'addons'))"
        )
        # Seats added on D: another number added (the entry's `added` and `quantity`, the row).
        cursor.execute(
            f"UPDATE {event_table} e SET data = e.data || jsonb_build_object("  # noqa: S608
            "'added', (e.data->>'added')::int + m.add_delta, "
            "'quantity', (e.data->>'quantity')::int + m.add_delta) FROM honest_map m "
            f"WHERE e.subscription_id = m.arch_sub + m.c * {sub_stride} "
            "AND e.kind = 'seats_added' AND m.add_delta <> 0"
        )
        cursor.execute(
            "UPDATE subscriptions_subscriptionseat s SET quantity = s.quantity + m.add_delta "  # noqa: S608
            f"FROM honest_map m WHERE s.subscription_id = m.arch_sub + m.c * {sub_stride} "
            "AND s.seat_type_id = m.add_type AND m.add_delta <> 0"
        )
        for model, _join in models:
            table = model._meta.db_table
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"(SELECT MAX(id) FROM {table}))"
            )
        cursor.execute("SELECT arch_sub + c * %s, arch_sub, c FROM honest_map", [sub_stride])
        mapping = {row[0]: recipes[(row[1], row[2])] for row in cursor.fetchall()}
        cursor.execute("DROP TABLE honest_map")
        cursor.execute("ANALYZE")
    return mapping


def generate(n: int, archetypes: int = 300, seed: int = SEED):
    archetype_list, ctx = make_archetypes(min(n, archetypes), seed)
    mapping = replicate(archetype_list, n, ctx, seed) if n > len(archetype_list) else {}
    return archetype_list, ctx, mapping


# The run, the check and the report -------------------------------------------------------------


def run_day(processes: int = 1):
    """The nightly run for D, in process, at 02:00 on D (December's usage window closed)."""
    from billing.services import billing_run

    with _at(DAY, 23):
        return billing_run(day=DAY, send_emails=False, processes=processes)


def line_signature(line) -> tuple:
    """What makes a line the same charge, whoever it is billed to (not its text)."""
    return (
        line.kind,
        line.charge.split(":")[0] if line.charge else "",
        line.product_id,
        line.period_start,
        line.period_end,
        line.charge_date,
        line.currency,
        Decimal(line.quantity).normalize(),
        line.unit_price.amount,
        line.gross.amount,
        line.discount_total.amount,
        line.net.amount,
        line.tax_rate,
    )


def lines_on_day(subscription_ids=None) -> dict[int, list]:
    """The invoice lines issued on D, by subscription (signatures, sorted)."""
    from billing.models import InvoiceLine

    lines = InvoiceLine.objects.filter(invoice__issue_date=DAY, invoice__kind="invoice")
    if subscription_ids is not None:
        lines = lines.filter(subscription_id__in=list(subscription_ids))
    out = defaultdict(list)
    for line in lines.only(*LINE_FIELDS).iterator(chunk_size=5000):
        out[line.subscription_id].append(line_signature(line))
    return {k: sorted(v, key=repr) for k, v in out.items()}


LINE_FIELDS = (
    "subscription_id", "kind", "charge", "product_id", "period_start", "period_end",
    "charge_date", "currency", "quantity", "unit_price", "gross", "discount_total", "net",
    "tax_rate",
)  # fmt: skip


def previews(subscription_ids) -> dict[int, list]:
    """invoice_preview of D for these subscriptions (nothing saved), as line signatures."""
    from billing.services.run import invoice_preview
    from subscriptions.models import Subscription

    out = {}
    with _at(DAY, 23):
        for sub in Subscription.objects.filter(pk__in=list(subscription_ids)):
            docs = invoice_preview(subscription=sub, day=DAY)
            sigs = [
                line_signature(line)
                for d in docs
                if d.invoice.kind == "invoice"
                for line in d.lines
            ]
            out[sub.pk] = sorted(sigs, key=repr)
    return out


def verify(archetypes: list[Archetype], ctx: dict, mapping: dict, expected: dict,
           sample: int = 40, seed: int = SEED) -> dict:  # fmt: skip
    """The correctness check, after the run on D.

    1. Every archetype (made by the services): its lines on D equal its invoice_preview for D
       taken before the run (`expected`).
    2. A sample of copies: each copy's recipe (its archetype's, with its own quantities and
       usage) is played again through the services — a new customer and subscription, the
       history billed day by day, the changes of D — and the preview of D of that replay must
       equal the copy's lines from the run (kind, charge, product, period, dates, quantity,
       unit price, gross, discounts, net, tax rate: everything but the text).
    Returns the mismatches (none: the check passed)."""
    arch_ids = [a.subscription_id for a in archetypes]
    got = lines_on_day(arch_ids)
    failures = []
    for pk in arch_ids:
        if got.get(pk, []) != expected.get(pk, []):
            failures.append(("archetype != preview", pk, got.get(pk), expected.get(pk)))
    rng = random.Random(seed + 2)
    by_kind = defaultdict(list)
    for pk in sorted(mapping):
        by_kind[mapping[pk][1]["kind"]].append(pk)
    sampled = []
    for kind in sorted(by_kind):  # every kind, then at random
        sampled += rng.sample(
            by_kind[kind], min(len(by_kind[kind]), max(2, sample // len(by_kind)))
        )
    replays = []
    for pk in sampled:
        arche, recipe = mapping[pk]
        replays.append(Archetype(recipe["kind"], recipe=recipe, index=arche.index))
    _play(replays, ctx, random.Random(seed + 3))
    replayed = previews([r.subscription_id for r in replays])
    copy_lines = lines_on_day(sampled)
    for pk, replay in zip(sampled, replays, strict=True):
        if copy_lines.get(pk, []) != replayed.get(replay.subscription_id, []):
            failures.append(
                ("copy != replay", pk, copy_lines.get(pk), replayed.get(replay.subscription_id))
            )
    return {
        "archetypes_checked": len(arch_ids),
        "copies_checked": len(sampled),
        "copy_lines_checked": sum(len(copy_lines.get(pk, [])) for pk in sampled),
        "failures": failures,
    }


def report() -> dict:
    """Counts, line kinds on D, discounted lines, distinct invoices (same lines and amounts)."""
    from billing.models import Invoice, InvoiceLine
    from subscriptions.models import Subscription, UsageEvent

    kinds = Counter()
    discounted = 0
    invoices = defaultdict(list)
    lines = InvoiceLine.objects.filter(invoice__issue_date=DAY, invoice__kind="invoice")
    for line in lines.only("invoice_id", *LINE_FIELDS).iterator(chunk_size=5000):
        kinds[line.kind] += 1
        discounted += bool(line.discount_total)
        invoices[line.invoice_id].append(line_signature(line))
    total = sum(kinds.values())
    distinct = len({tuple(sorted(v, key=repr)) for v in invoices.values()})
    return {
        "subscriptions": Subscription.objects.count(),
        "usage_events": UsageEvent.objects.count(),
        "invoices_on_day": Invoice.objects.filter(issue_date=DAY, kind="invoice").count(),
        "credit_notes_on_day": Invoice.objects.filter(issue_date=DAY, kind="credit_note").count(),
        "lines_on_day": total,
        "line_kinds_pct": {k: round(100 * v / total, 1) for k, v in kinds.most_common()},
        "discounted_lines_pct": round(100 * discounted / total, 1) if total else 0,
        "distinct_invoices": distinct,
        "distinct_invoices_pct": round(100 * distinct / len(invoices), 1) if invoices else 0,
    }
