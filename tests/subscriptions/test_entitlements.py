"""Entitlements (subscriptions/entitlements.py): what a customer's live subscriptions give it,
the usage counted against its limits, the cache and what changes it, the usage ingestion's
limits, and what a plan change gains and loses."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.cache import cache

from billing.services import billing_run
from catalog.models import BillableMetric, BundleFeature, Feature, PlanFeature
from subscriptions import services
from subscriptions.entitlements import (
    Change,
    FeatureValue,
    _versions,
    compare_features,
    customer_entitlements,
    plan_change_features,
    subscription_features,
    usage_limits,
)
from subscriptions.models import Subscription
from subscriptions.usage import Window, usage_quantities, usage_quantities_many
from tests.subscriptions.factories import CustomerFactory
from tests.support.entitlements import (
    START,
    TODAY,
    addon_with,
    at,
    book,
    feature,
    metric,
    plan_with,
    subscribe,
    use,
)

pytestmark = pytest.mark.django_db


def test_on_off_features_and_limits_summed_over_subscriptions_and_add_ons():
    b = book()
    got = customer_entitlements(customer=b.customer, day=TODAY)
    assert [e.code for e in got] == ["calls", "exports", "seats", "sso"]
    # sso: off on Basic, on on Pro → on, granted by the Pro subscription only
    assert got.get("sso").enabled and got.get("sso").granted_by == (b.second.pk,)
    assert got.get("sso").limit is None and got.get("sso").kind == "on_off"
    assert got.get("exports").granted_by == (b.first.pk,)
    # seats: 5 + 2 add-ons × 3 on the first, 10 on the second
    seats = got.get("seats")
    assert seats.limit == Decimal(21) and seats.granted_by == (b.first.pk, b.second.pk)
    assert seats.used is None and seats.remaining is None  # no metric: a value the app reads
    assert got.get("calls").limit == Decimal(4000)  # 1000 + 2 × 500 + 2000
    # each subscription's own share
    assert got.of_subscription(b.first.pk).get("seats").limit == Decimal(11)
    assert got.of_subscription(b.second.pk).get("seats").limit == Decimal(10)


def test_an_unlimited_grant_wins():
    b = book()
    unlimited = addon_with([b.pro], {b.seats: (True, None)})
    services.addon_add(subscription=b.second, bundle=unlimited, today=TODAY)
    got = customer_entitlements(customer=b.customer, day=TODAY)
    assert got.get("seats").enabled and got.get("seats").limit is None


def test_a_feature_off_everywhere_is_off_with_no_limit():
    m = metric()
    calls = feature("calls", kind=Feature.Kind.LIMIT, metric=m)
    customer = CustomerFactory()
    subscribe(customer, plan_with({calls: (False, 1000)}))
    got = customer_entitlements(customer=customer, day=TODAY).get("calls")
    assert not got.enabled and got.limit == 0 and got.granted_by == ()


def test_usage_so_far_in_the_current_period_against_the_limit():
    b = book(enforcement=Feature.Enforcement.SOFT)
    use(b.first, "api_call", at(date(2026, 10, 31)), times=5)  # before the period: not counted
    use(b.first, "api_call", at(date(2026, 11, 2)), times=3)
    use(b.second, "api_call", at(TODAY), times=4)
    use(b.second, "other_call", at(TODAY), times=9)  # another code
    calls = customer_entitlements(customer=b.customer, day=TODAY).get("calls")
    assert calls.used == Decimal(7)
    assert calls.remaining == Decimal(3993)
    assert calls.enforcement == "soft"
    assert (calls.period.start, calls.period.end) == (START, date(2026, 12, 1))
    assert not calls.exceeded


def test_usage_of_several_metrics_and_aggregations_in_one_read(django_assert_num_queries):
    b = book()
    storage_metric = BillableMetric.objects.create(
        code="storage", name="storage", event_code="storage", aggregation="max", field="gb"
    )
    storage = feature("storage", kind=Feature.Kind.LIMIT, unit="GB", metric=storage_metric)
    PlanFeature.objects.create(plan=b.basic, feature=storage, limit=100)
    use(b.first, "storage", at(TODAY), gb=40)
    use(b.first, "storage", at(TODAY), gb=25)
    use(b.second, "api_call", at(TODAY), times=2)
    with django_assert_num_queries(5):  # not cached: versions, timelines, features 2, usage
        got = customer_entitlements(customer=b.customer, day=TODAY)
    assert got.get("storage").used == Decimal(40) and got.get("storage").remaining == 60
    assert got.get("calls").used == Decimal(2)


def test_a_suspended_subscription_gives_nothing():
    b = book()
    services.subscription_suspend(subscription=b.second, day=TODAY, reason="F2026-000001")
    got = customer_entitlements(customer=b.customer, day=TODAY)
    assert not got.is_enabled("sso")  # only the suspended one gave it
    assert got.get("seats").limit == Decimal(11) and got.get("seats").granted_by == (b.first.pk,)
    services.subscription_reactivate(subscription=b.second, day=TODAY, reason="paid")
    assert customer_entitlements(customer=b.customer, day=TODAY).is_enabled("sso")


def test_an_ended_subscription_is_gone():
    b = book()
    services.subscription_cancel(subscription=b.second, today=TODAY)  # at the period end
    end = Subscription.objects.get(pk=b.second.pk).end_date
    assert end == date(2026, 12, 1)
    assert customer_entitlements(customer=b.customer, day=TODAY).is_enabled("sso")
    # on the end date, gone — whether or not the nightly run has marked it ended yet
    after = customer_entitlements(customer=b.customer, day=end)
    assert not after.is_enabled("sso") and after.get("seats").limit == Decimal(11)
    services.subscription_advance(subscription=b.second, today=end)
    assert Subscription.objects.get(pk=b.second.pk).status == Subscription.Status.CANCELLED
    gone = customer_entitlements(customer=b.customer, day=end)
    assert gone.get("sso").granted_by == () and not gone.get("sso").enabled  # Basic's "off"
    assert gone.get("seats").granted_by == (b.first.pk,)


def test_a_scheduled_subscription_gives_nothing_before_its_start():
    b = book()
    later = subscribe(b.customer, b.pro, start=date(2027, 1, 1))
    got = customer_entitlements(customer=b.customer, day=TODAY)
    assert later.pk not in got.get("seats").granted_by


def test_fixed_queries_whatever_the_subscriptions_and_features(django_assert_num_queries):
    b = book()
    with django_assert_num_queries(5):
        customer_entitlements(customer=b.customer, day=TODAY)
    for n in range(4):
        extra = feature(f"extra-{n}", kind=Feature.Kind.LIMIT)
        PlanFeature.objects.create(plan=b.pro, feature=extra, limit=n + 1)
        subscribe(b.customer, b.pro, addons={b.addon.pk: 1})
    cache.clear()
    with django_assert_num_queries(5):
        got = customer_entitlements(customer=b.customer, day=TODAY)
    assert len(got.get("seats").granted_by) == 6


def test_an_unchanged_read_hits_the_cache(django_assert_num_queries):
    b = book()
    first = customer_entitlements(customer=b.customer, day=TODAY)
    with django_assert_num_queries(2):  # the version and the live usage
        again = customer_entitlements(customer=b.customer, day=TODAY)
    assert again == first


def test_a_plan_change_is_seen_at_once():
    b = book()
    assert customer_entitlements(customer=b.customer, day=TODAY).is_enabled("exports")
    services.subscription_change_plan(subscription=b.first, plan=b.pro, today=TODAY)  # upgrade
    got = customer_entitlements(customer=b.customer, day=TODAY)
    assert not got.is_enabled("exports")  # Basic's only
    assert got.get("seats").limit == Decimal(26)  # 10 + 2 × 3 + 10
    assert got.get("sso").granted_by == (b.first.pk, b.second.pk)


def test_an_add_on_added_is_seen_at_once():
    b = book()
    customer_entitlements(customer=b.customer, day=TODAY)
    services.addon_add(subscription=b.second, bundle=b.addon, today=TODAY, quantity=1)
    assert customer_entitlements(customer=b.customer, day=TODAY).get("seats").limit == 24


def test_a_catalog_edit_is_seen_at_once():
    b = book()
    assert customer_entitlements(customer=b.customer, day=TODAY).get("seats").limit == 21
    row = PlanFeature.objects.get(plan=b.pro, feature=b.seats)
    row.limit = 50  # as the admin saves it
    row.save()
    assert customer_entitlements(customer=b.customer, day=TODAY).get("seats").limit == 61
    addon_row = BundleFeature.objects.get(bundle=b.addon, feature=b.seats)
    addon_row.delete()
    assert customer_entitlements(customer=b.customer, day=TODAY).get("seats").limit == 55
    b.calls.enforcement = Feature.Enforcement.SOFT
    b.calls.save()
    assert customer_entitlements(customer=b.customer, day=TODAY).get("calls").enforcement == "soft"


def test_an_admin_edit_of_a_feature_is_seen_at_once(operator_client):
    b = book()
    assert customer_entitlements(customer=b.customer, day=TODAY).get("seats").unit == "users"
    feature_page = f"/admin/catalog/feature/{b.seats.pk}/change/"
    response = operator_client.post(
        feature_page,
        {
            "code": "seats",
            "name": "Seats",
            "name_fr": "",
            "kind": "limit",
            "unit": "members",
            "metric": "",
            "enforcement": "none",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert customer_entitlements(customer=b.customer, day=TODAY).get("seats").unit == "members"


def test_the_billing_runs_advance_changes_the_version():
    """The nightly run's bulk path writes `updated_at` and the timeline entries it adds: a
    subscription it ends is seen as ended by a read cached before."""
    b = book()
    services.subscription_cancel(subscription=b.second, today=TODAY)
    end = date(2026, 12, 1)
    before = _versions([b.customer.pk])
    assert customer_entitlements(customer=b.customer, day=end).get("seats").limit == 11
    billing_run(day=end, send_emails=False)
    assert Subscription.objects.get(pk=b.second.pk).status == Subscription.Status.CANCELLED
    assert _versions([b.customer.pk]) != before
    assert customer_entitlements(customer=b.customer, day=end).get("seats").limit == 11


# The usage ingestion's limits ----------------------------------------------------------------


def test_usage_limits_for_the_codes_of_a_batch(django_assert_num_queries):
    b = book()
    other = CustomerFactory()
    subscribe(other, b.basic)
    use(b.second, "api_call", at(TODAY), times=4)
    with django_assert_num_queries(5):
        limits = usage_limits(
            customer_ids=[b.customer.pk, other.pk], event_codes=["api_call", "nothing"], day=TODAY
        )
    by_customer = {limit.customer_id: limit for limit in limits}
    assert set(by_customer) == {b.customer.pk, other.pk}
    mine = by_customer[b.customer.pk]
    assert mine.feature == b.calls and mine.metric == b.metric
    assert (mine.limit, mine.used, mine.enforcement) == (Decimal(4000), Decimal(4), "hard")
    assert mine.subscription_ids == (b.first.pk, b.second.pk)
    assert (mine.period.start, mine.period.end) == (START, date(2026, 12, 1))
    assert by_customer[other.pk].limit == Decimal(1000) and by_customer[other.pk].used == 0
    assert usage_limits(customer_ids=[b.customer.pk], event_codes=["storage"], day=TODAY) == []


def test_usage_limits_in_fixed_queries_whatever_the_customers(django_assert_num_queries):
    b = book()
    customers = [CustomerFactory() for _ in range(5)]
    for customer in customers:
        subscribe(customer, b.pro)
    ids = [b.customer.pk, *(c.pk for c in customers)]
    with django_assert_num_queries(5):
        assert len(usage_limits(customer_ids=ids, event_codes=["api_call"], day=TODAY)) == 6
    with django_assert_num_queries(2):  # cached: the versions and the usage
        assert len(usage_limits(customer_ids=ids, event_codes=["api_call"], day=TODAY)) == 6


# The pages' lines ------------------------------------------------------------------------------


def test_each_subscriptions_features_with_its_own_usage():
    b = book()
    use(b.first, "api_call", at(TODAY), times=2)
    use(b.second, "api_call", at(TODAY), times=5)
    lines = subscription_features(subscriptions=[b.first, b.second], day=TODAY)
    first = {line.feature.code: line for line in lines[b.first.pk]}
    assert not first["sso"].enabled and first["seats"].limit == 11
    assert (first["calls"].limit, first["calls"].used) == (Decimal(2000), Decimal(2))
    second = {line.feature.code: line for line in lines[b.second.pk]}
    assert second["calls"].used == Decimal(5) and "exports" not in second


# A plan change: gained and lost ----------------------------------------------------------------


def _values(*rows):
    return [FeatureValue(f, enabled, limit) for f, enabled, limit in rows]


def test_compare_features_names_what_is_gained_and_lost():
    on, gone, more, less, endless, same = (
        Feature(pk=1, code="a-on", kind="on_off"),
        Feature(pk=2, code="b-gone", kind="on_off"),
        Feature(pk=3, code="c-more", kind="limit"),
        Feature(pk=4, code="d-less", kind="limit"),
        Feature(pk=5, code="e-endless", kind="limit"),
        Feature(pk=6, code="f-same", kind="limit"),
    )
    before = _values(
        (on, False, None),
        (gone, True, None),
        (more, True, Decimal(5)),
        (less, True, None),
        (endless, True, Decimal(100)),
        (same, True, Decimal(3)),
    )
    after = _values(
        (on, True, None),
        (more, True, Decimal(8)),
        (less, True, Decimal(10)),
        (endless, True, None),
        (same, True, Decimal(3)),
    )
    changes = compare_features(before, after)
    assert [(c.code, c.change, c.before, c.after) for c in changes] == [
        ("a-on", Change.GAINED, None, None),
        ("b-gone", Change.LOST, None, None),
        ("c-more", Change.RAISED, Decimal(5), Decimal(8)),
        ("d-less", Change.LOWERED, None, Decimal(10)),
        ("e-endless", Change.RAISED, Decimal(100), None),
    ]
    assert compare_features(after, after) == []
    assert [c.is_gain for c in changes] == [True, False, True, False, True]


def test_a_limit_feature_turned_on_is_gained_with_its_limit():
    calls = Feature(pk=1, code="calls", kind="limit")
    [change] = compare_features([], _values((calls, True, Decimal(50))))
    assert (change.change, change.after) == (Change.GAINED, Decimal(50))


def test_plan_change_features_keep_the_add_ons():
    b = book()
    # Basic (+2 add-ons) → Pro (+ the same add-ons): sso gained, exports lost, seats 11 → 16,
    # calls 2000 → 3000
    changes = plan_change_features(subscription=b.first, plan_id=b.pro.pk, day=TODAY)
    assert [(c.code, c.change, c.before, c.after) for c in changes] == [
        ("calls", Change.RAISED, Decimal(2000), Decimal(3000)),
        ("exports", Change.LOST, None, None),
        ("seats", Change.RAISED, Decimal(11), Decimal(16)),
        ("sso", Change.GAINED, None, None),
    ]
    back = plan_change_features(subscription=b.second, plan_id=b.basic.pk, day=TODAY)
    assert [(c.code, c.change) for c in back] == [
        ("calls", Change.LOWERED),
        ("exports", Change.GAINED),
        ("seats", Change.LOWERED),
        ("sso", Change.LOST),
    ]


def test_a_limit_turned_off_is_a_limit_of_zero_for_the_ingestion():
    m = metric()
    calls = feature("calls", kind=Feature.Kind.LIMIT, metric=m, enforcement="hard")
    customer = CustomerFactory()
    subscription = subscribe(customer, plan_with({calls: (False, 1000)}))
    use(subscription, "api_call", at(TODAY), times=2)
    [limit] = usage_limits(customer_ids=[customer.pk], event_codes=["api_call"], day=TODAY)
    assert (limit.limit, limit.used, limit.enforcement) == (0, 2, "hard")
    assert limit.subscription_ids == (subscription.pk,)


# Usage of several metrics and windows in one query (subscriptions/usage.py) ------------------


def test_usage_of_many_windows_is_each_windows_usage(django_assert_num_queries):
    b = book()
    aggregations = {
        "count": ("", BillableMetric.Aggregation.COUNT),
        "unique": ("user", BillableMetric.Aggregation.COUNT_UNIQUE),
        "sum": ("gb", BillableMetric.Aggregation.SUM),
        "max": ("gb", BillableMetric.Aggregation.MAX),
        "latest": ("gb", BillableMetric.Aggregation.LATEST),
    }
    metrics = [
        BillableMetric.objects.create(
            code=f"m-{name}", name=name, event_code="upload", aggregation=agg, field=field
        )
        for name, (field, agg) in aggregations.items()
    ]
    use(b.first, "upload", at(date(2026, 10, 20)), user="a", gb=7)
    use(b.first, "upload", at(date(2026, 11, 2)), user="a", gb=3)
    use(b.first, "upload", at(date(2026, 11, 5)), user="b", gb=5)
    use(b.second, "upload", at(date(2026, 11, 6)), user="c", gb=2)
    windows = [
        Window(m, (b.first.pk, b.second.pk), start, end)
        for m in metrics
        for start, end in ((START, date(2026, 12, 1)), (date(2026, 10, 1), START))
    ]
    with django_assert_num_queries(1):
        together = usage_quantities_many(windows)
    alone = [usage_quantities(w.metric, list(w.subscription_ids), w.start, w.end) for w in windows]
    assert together == alone
    assert together[0] == {b.first.pk: 2, b.second.pk: 1}  # count, November
    assert together[8] == {b.first.pk: 5, b.second.pk: 2}  # latest, November
    assert usage_quantities_many([]) == []
