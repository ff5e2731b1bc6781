"""The bulk helpers the billing run writes and reads with (core/db/bulk.py, lookups.py,
reads.py, gc_pause.py): same rows as the ORM would give, whatever the database."""

import gc
import threading
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import connection

from core.db.bulk import array_literal, build, bulk_update, clone, from_row, insert
from core.db.gc_pause import gc_paused
from core.db.reads import IdsRead
from subscriptions.models import Customer, SubscriptionEvent
from tests.subscriptions.factories import CustomerFactory

pytestmark = pytest.mark.django_db
postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="array parameters and COPY are PostgreSQL's"
)


# array_literal -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "cast"),
    [
        ([1, None, 3], "bigint[]"),
        (["a", 'quote " inside', "back\\slash", "", "NULL", None, "x,y{}", "é ü"], "text[]"),
        ([date(2027, 1, 1), None, date(2024, 2, 29)], "date[]"),
        ([datetime(2027, 1, 1, 3, 4, 5, 123456, tzinfo=UTC), None], "timestamptz[]"),
        ([True, False, None], "boolean[]"),
    ],
)
@postgresql_only
def test_an_array_literal_reads_back_as_the_same_values(values, cast):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT %s::{cast}", [array_literal(values)])
        assert cursor.fetchone()[0] == values


def test_an_array_literal_refuses_what_it_cannot_write_exactly():
    with pytest.raises(ValueError, match="naive datetime"):
        array_literal([datetime(2027, 1, 1, 3, 0)])  # noqa: DTZ001 - the refused case
    with pytest.raises(TypeError, match="Decimal"):
        array_literal([Decimal("1.5")])


# field__any --------------------------------------------------------------------------------


def test_any_finds_the_rows_of_a_list_like_in():
    customers = CustomerFactory.create_batch(4)
    wanted = [customers[0].pk, customers[2].pk, 999_999]
    assert set(Customer.objects.filter(pk__any=wanted).values_list("pk", flat=True)) == {
        customers[0].pk,
        customers[2].pk,
    }
    assert list(Customer.objects.filter(pk__any=[])) == []


@postgresql_only
def test_any_sends_the_list_as_one_array_parameter():
    sql, params = Customer.objects.filter(pk__any=[1, 2, 3]).query.sql_with_params()
    assert "= ANY(%s::bigint[])" in sql
    assert params == ("{1,2,3}",)


# IdsRead -----------------------------------------------------------------------------------


def test_a_compiled_read_gives_the_rows_of_its_queryset_for_any_ids():
    customers = CustomerFactory.create_batch(3)
    read = IdsRead(
        lambda ids: Customer.objects.filter(pk__any=ids).order_by("pk").values_list("pk", "name")
    )
    first = read.rows([customers[0].pk, customers[1].pk])
    second = read.rows([customers[2].pk])  # compiled once, other ids
    assert first == [(c.pk, c.name) for c in customers[:2]]
    assert second == [(customers[2].pk, customers[2].name)]


def test_a_compiled_read_decodes_json_like_values_list():
    customer = CustomerFactory()
    from tests.subscriptions.factories import monthly_plan

    plan = monthly_plan()
    from subscriptions import services

    subscription = services.subscription_create(
        customer=customer, plan=plan, start_date=date(2026, 1, 1), today=date(2026, 1, 1)
    ).subscription
    read = IdsRead(
        lambda ids: (
            SubscriptionEvent.objects.filter(subscription_id__any=ids)
            .order_by("id")
            .values_list("kind", "data")
        ),
        json_columns=[1],
    )
    expected = list(
        SubscriptionEvent.objects.filter(subscription=subscription)
        .order_by("id")
        .values_list("kind", "data")
    )
    assert read.rows([subscription.pk]) == expected
    assert isinstance(expected[0][1], dict)


# build, clone, from_row, insert, bulk_update --------------------------------------------------


def test_build_and_insert_write_what_the_orm_would():
    customer = build(
        Customer, name="Built SA", email="built@example.com", city="Lyon", country="FR"
    )
    assert customer.pk is None and customer.currency == "EUR"  # defaults as in __init__
    twin = clone(Customer, {k: v for k, v in customer.__dict__.items() if k != "_state"})
    twin.name = "Twin SA"
    insert([customer, twin])
    assert customer.pk and twin.pk and customer.pk != twin.pk
    saved = Customer.objects.get(pk=customer.pk)
    assert (saved.name, saved.email, saved.city, saved.currency) == (
        "Built SA",
        "built@example.com",
        "Lyon",
        "EUR",
    )
    assert Customer.objects.filter(name="Twin SA").exists()


def test_build_gives_each_row_its_own_made_default_and_every_other_default_as_init():
    """A default that is a callable (`dict`) is made for each row, never shared between rows;
    the others are read once and are the values __init__ would set."""
    first, second = build(SubscriptionEvent), build(SubscriptionEvent)
    assert first.data == {} and first.data is not second.data
    first.data["seats"] = 3
    assert second.data == {}
    made = SubscriptionEvent()
    assert {
        name: value for name, value in build(SubscriptionEvent).__dict__.items() if name != "_state"
    } == {name: value for name, value in made.__dict__.items() if name != "_state"}


@postgresql_only
def test_insert_without_ids_lets_the_table_number_the_rows():
    before = Customer.objects.count()
    rows = [
        build(Customer, name=f"No id {n}", email=f"n{n}@example.com", country="FR")
        for n in range(3)
    ]
    insert(rows, ids=False)
    assert Customer.objects.count() == before + 3
    assert all(row.pk is None for row in rows)


def test_from_row_makes_a_saved_instance_with_the_rest_deferred():
    customer = CustomerFactory(name="Row SA", city="Nantes")
    row = Customer.objects.filter(pk=customer.pk).values_list("id", "name").get()
    loaded = from_row(Customer, ["id", "name"], row, "default")
    assert (loaded.pk, loaded.name) == (customer.pk, "Row SA")
    assert not loaded._state.adding
    assert loaded.city == "Nantes"  # a deferred field, loaded on access


def test_bulk_update_writes_each_rows_own_values_to_the_named_fields_only():
    customers = CustomerFactory.create_batch(3, city="Paris")
    for n, customer in enumerate(customers):
        customer.name = f'Renamed "{n}" \\ SA'
        customer.city = "Ignored"
    bulk_update(customers, ["name"])
    for n, customer in enumerate(customers):
        customer.refresh_from_db()
        assert customer.name == f'Renamed "{n}" \\ SA'
        assert customer.city == "Paris"


# gc_paused ---------------------------------------------------------------------------------


def test_the_collector_is_paused_inside_and_resumed_after_the_last_batch():
    assert gc.isenabled()
    inside = []
    started = threading.Barrier(2)
    release = threading.Event()

    def batch():
        with gc_paused():
            started.wait(5)
            inside.append(gc.isenabled())
            release.wait(5)

    other = threading.Thread(target=batch)
    other.start()
    with gc_paused():
        started.wait(5)
        release.set()
        other.join(5)
        assert gc.isenabled() is False  # the other batch ended, this one still runs
    assert inside == [False]
    assert gc.isenabled()
