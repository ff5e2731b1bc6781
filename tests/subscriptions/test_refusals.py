"""Every refusal says why in words a person can act on, and changes nothing: every row a refused
change could have touched is compared before and after (tests/support/snapshots.py)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from catalog import services as catalog_services
from catalog.models import (
    Bundle,
    CouponCampaign,
    CouponCode,
    Plan,
    Product,
    ProductContract,
    SeatType,
    UpgradeGroup,
)
from subscriptions import services
from subscriptions.models import (
    ScheduledIssue,
    Subscription,
    SubscriptionContract,
)
from tests.subscriptions.factories import CustomerFactory, monthly_plan
from tests.support.snapshots import refused

pytestmark = pytest.mark.django_db
TODAY = date(2026, 11, 21)
D = Decimal


# Creation ---------------------------------------------------------------------------------------


def create(world, **overrides):
    fields = {
        "customer": world["customer"],
        "plan": Plan.objects.get(code="device-seats"),
        "start_date": TODAY,
        "today": TODAY,
        "seats": {world["gateway"]: 5},
        "service_period_years": 1,
    } | overrides
    return lambda: services.subscription_create(**fields)


def test_create_refuses_a_plan_that_is_not_for_sale(world):
    plan = Plan.objects.get(code="device-seats")
    Plan.objects.filter(pk=plan.pk).update(status="retired")
    refused(
        create(world, plan=Plan.objects.get(pk=plan.pk)), "is not for sale (it is retired)", "plan"
    )


def test_create_refuses_another_currency(world):
    refused(
        create(world, plan=Plan.objects.get(code="hosting-a"), seats={}), "is sold in CAD", "plan"
    )


def test_create_refuses_negative_seats(world):
    refused(create(world, seats={world["gateway"]: -1}), "cannot be negative", "seats")


def test_create_refuses_no_seat_at_all(world):
    refused(create(world, seats={}), "Choose at least one seat.", "seats")


def test_create_refuses_seats_below_the_devices_deployed(world):
    newcomer = CustomerFactory()
    services.devices_set(customer=newcomer, seat_type=world["gateway"], count=4)
    refused(
        create(world, customer=newcomer, seats={world["gateway"]: 3}),
        "has 4 Gateway devices deployed and would hold 3 Gateway seats: seats cannot fall below the devices",
        "seats",
    )


def test_devices_are_covered_by_all_the_customers_subscriptions_together(world):
    # The customer's first subscription holds 10 gateway seats for its 4 gateways: a second one,
    # for sensors only, needs no gateway seats.
    sensors = services.subscription_create(
        customer=world["customer"],
        plan=Plan.objects.get(code="device-seats"),
        start_date=TODAY,
        today=TODAY,
        seats={world["sensor"]: 2},
        service_period_years=1,
    ).subscription
    assert list(sensors.seats.values_list("seat_type__code", "quantity")) == [("sensor", 2)]
    # And the first may go down to 4 gateway seats, not lower: scheduled for its renewal.
    result = services.seats_reduce(
        subscription=world["devices"], seat_type=world["gateway"], quantity=4, today=TODAY
    )
    assert result.effective_date == date(2029, 1, 1)
    seat = world["devices"].seats.get(seat_type=world["gateway"])
    assert (seat.quantity, seat.scheduled_quantity) == (10, 4)
    assert result.event.kind == "seats_reduced"
    assert result.event.data == {"seat_type": world["gateway"].pk, "from": 10, "quantity": 4}


def test_create_refuses_a_seat_type_the_plan_does_not_sell(world):
    other = SeatType.objects.create(code="camera", name="Camera")
    refused(create(world, seats={other: 2}), "does not sell this seat type", "seats")


def test_create_refuses_a_po_reference_too_long(world):
    refused(
        create(world, po_reference="PO-" + "9" * 40),
        "at most 35 characters; this one has 43",
        "po_reference",
    )


def test_create_refuses_a_service_period_not_offered(world):
    refused(
        create(world, service_period_years=2),
        "not sold for 2 years; choose 1, 3, 5",
        "service_period_years",
    )


def test_create_refuses_an_incompatible_add_on(world):
    refused(
        create(
            world,
            plan=Plan.objects.get(code="hosting-a"),
            customer=world["cad"],
            seats={},
            addons={Bundle.objects.get(code="service-plus-eur").pk: 1},
        ),
        "is not a compatible add-on",
        "addons",
    )


# Seats -------------------------------------------------------------------------------------------


def test_adding_zero_seats_is_refused(world):
    refused(
        lambda: services.seats_add(
            subscription=world["devices"], seat_type=world["gateway"], quantity=0, today=TODAY
        ),
        "Add at least one seat.",
        "quantity",
    )


def test_adding_seats_of_a_type_not_sold_is_refused(world):
    refused(
        lambda: services.seats_add(
            subscription=world["hosting"], seat_type=world["gateway"], quantity=1, today=TODAY
        ),
        "does not sell Gateway seats",
        "seat_type",
    )


def test_a_reduction_must_ask_for_fewer_seats(world):
    refused(
        lambda: services.seats_reduce(
            subscription=world["devices"], seat_type=world["gateway"], quantity=10, today=TODAY
        ),
        "has 10 Gateway seats: a reduction must ask for fewer",
        "quantity",
    )


def test_a_reduction_below_the_devices_is_refused(world):
    refused(
        lambda: services.seats_reduce(
            subscription=world["devices"], seat_type=world["gateway"], quantity=3, today=TODAY
        ),
        "has 4 Gateway devices deployed and would hold 3 Gateway seats",
        "quantity",
    )


def test_a_second_reduction_for_the_same_renewal_is_refused(world):
    services.seats_reduce(
        subscription=world["devices"], seat_type=world["gateway"], quantity=8, today=TODAY
    )
    refused(
        lambda: services.seats_reduce(
            subscription=world["devices"], seat_type=world["gateway"], quantity=6, today=TODAY
        ),
        "A reduction to 8 seats is already scheduled for 2029-01-01",
    )


# Plan changes ------------------------------------------------------------------------------------


def test_changing_to_the_same_plan_is_refused(world):
    refused(
        lambda: services.subscription_change_plan(
            subscription=world["hosting"], plan=Plan.objects.get(code="hosting-a"), today=TODAY
        ),
        "is already on Hosting A",
        "plan",
    )


def test_changing_outside_the_upgrade_group_is_refused(world):
    refused(
        lambda: services.subscription_change_plan(
            subscription=world["hosting"], plan=Plan.objects.get(code="device-seats"), today=TODAY
        ),
        "can only move to the plans of its upgrade group (Hosting B)",
        "plan",
    )


def test_a_second_plan_change_while_one_is_pending_is_refused(world):
    b = Plan.objects.get(code="hosting-b")
    Plan.objects.filter(pk=b.pk).update(manual_fulfilment=True)
    services.subscription_change_plan(
        subscription=world["hosting"], plan=Plan.objects.get(pk=b.pk), today=TODAY
    )
    refused(
        lambda: services.subscription_change_plan(
            subscription=world["hosting"], plan=b, today=TODAY
        ),
        "A change to Hosting B is already pending (2026-11-21)",
        "plan",
    )


def test_a_plan_change_while_a_downgrade_is_scheduled_is_refused(world):
    b = Plan.objects.get(code="hosting-b")
    services.subscription_change_plan(subscription=world["hosting"], plan=b, today=TODAY)
    a = Plan.objects.get(code="hosting-a")
    services.subscription_change_plan(
        subscription=world["hosting"], plan=a, today=TODAY
    )  # downgrade, scheduled
    Plan.objects.create(
        code="hosting-c",
        name="Hosting C",
        currency="CAD",
        upgrade_group=a.upgrade_group,
        upgrade_rank=3,
        status="active",
        payment_types=["card"],
    )
    refused(
        lambda: services.subscription_change_plan(
            subscription=world["hosting"], plan=Plan.objects.get(code="hosting-c"), today=TODAY
        ),
        "A change to Hosting A is already pending (2026-12-01)",
        "plan",
    )


# Cancellation ------------------------------------------------------------------------------------


def test_a_second_cancellation_is_refused(world):
    services.subscription_cancel(subscription=world["hosting"], today=TODAY)
    refused(
        lambda: services.subscription_cancel(subscription=world["hosting"], today=TODAY),
        "A cancellation is already scheduled for 2026-12-01",
    )


def test_no_change_on_a_subscription_pending_cancellation(world):
    services.subscription_cancel(subscription=world["devices"], today=TODAY)
    refused(
        lambda: services.seats_add(
            subscription=world["devices"], seat_type=world["gateway"], quantity=1, today=TODAY
        ),
        "A cancellation takes effect on 2029-01-01: undo it before changing the subscription",
    )


def test_undoing_without_a_cancellation_is_refused(world):
    refused(
        lambda: services.subscription_undo_cancellation(subscription=world["hosting"], today=TODAY),
        "There is no cancellation to undo.",
    )


def test_undoing_a_cancellation_that_took_effect_is_refused(world):
    services.subscription_cancel(subscription=world["hosting"], today=TODAY)
    services.subscription_advance(subscription=world["hosting"], today=date(2026, 12, 1))
    refused(
        lambda: services.subscription_undo_cancellation(
            subscription=world["hosting"], today=date(2026, 12, 2)
        ),
        "took effect on 2026-12-01: it can no longer be undone",
    )


def test_changes_after_the_end_are_refused(world):
    services.subscription_cancel(subscription=world["hosting"], today=TODAY)
    services.subscription_advance(subscription=world["hosting"], today=date(2026, 12, 1))
    world["hosting"].refresh_from_db()
    assert world["hosting"].status == "cancelled"
    refused(
        lambda: services.subscription_cancel(
            subscription=world["hosting"], today=date(2026, 12, 2)
        ),
        "has already ended",
    )


# Coupons -----------------------------------------------------------------------------------------


def redeem(world, code, subscription="hosting"):
    return lambda: services.coupon_redeem(subscription=world[subscription], code=code, today=TODAY)


def test_an_unknown_code_is_refused(world):
    refused(redeem(world, "coupon_12"), "The code coupon_12 does not exist", "code")


def test_a_used_code_is_refused(world):
    services.addon_add(
        subscription=world["hosting"],
        bundle=Bundle.objects.get(code="service-plus-cad"),
        today=TODAY,
    )
    other = services.subscription_create(
        customer=world["cad"],
        plan=Plan.objects.get(code="hosting-b"),
        start_date=TODAY,
        today=TODAY,
        addons={Bundle.objects.get(code="service-plus-cad").pk: 1},
    ).subscription
    services.coupon_redeem(subscription=other, code="coupon_88", today=TODAY)
    refused(redeem(world, "coupon_88"), "has been fully used", "code")


def test_a_disabled_or_expired_code_is_refused(world):
    catalog_services.coupon_code_set_disabled(
        code=CouponCode.objects.get(code="coupon_89"), disabled=True
    )
    refused(redeem(world, "coupon_89"), "has been disabled", "code")
    CouponCampaign.objects.filter(code="coupon-87").update(valid_until=date(2026, 11, 20))
    refused(redeem(world, "coupon_90"), "has expired", "code")


def test_a_code_for_a_product_the_subscription_lacks_is_refused(world):
    refused(
        redeem(world, "coupon_91"),
        "gives a discount on Additional service, which this subscription does not have",
        "code",
    )


# PO reference, fulfilment, credits -----------------------------------------------------------------


def test_a_po_reference_too_long_is_refused_on_edit(world):
    refused(
        lambda: services.subscription_set_po_reference(
            subscription=world["devices"], po_reference="x" * 36, today=TODAY
        ),
        "at most 35 characters",
        "po_reference",
    )


def test_fulfilling_nothing_is_refused(world):
    refused(
        lambda: services.subscription_fulfil(subscription=world["hosting"], today=TODAY),
        "Nothing is waiting for fulfilment",
    )


def test_consuming_more_credits_than_left_is_refused(world):
    from catalog.models import ProductContract

    held = services.subscription_contract_add(
        subscription=world["devices"],
        contract=ProductContract.objects.get(code="support-credits"),
        start_date=date(2026, 11, 1),
        today=TODAY,
    )
    services.credits_consume(subscription_contract=held, amount=Decimal("15"), day=TODAY)
    refused(
        lambda: services.credits_consume(
            subscription_contract=held, amount=Decimal("6"), day=TODAY
        ),
        "Only 5.00 credits are left; 6.00 were asked for.",
        "amount",
    )


# Further refusals: ended subscriptions, PO references, contracts, codes, creation, plan changes --


def hosting_create(world, **overrides):
    return create(
        world,
        **{
            "customer": world["cad"],
            "plan": Plan.objects.get(code="hosting-a"),
            "seats": {},
            "service_period_years": None,
        }
        | overrides,
    )


# Shared checks (subscriptions/services/_base.py) ------------------------------------------------


@pytest.fixture
def ended_hosting(world):
    services.subscription_cancel(subscription=world["hosting"], today=TODAY)
    services.subscription_advance(subscription=world["hosting"], today=date(2026, 12, 1))
    world["hosting"].refresh_from_db()
    assert world["hosting"].status == Subscription.Status.CANCELLED
    return world["hosting"]


@pytest.mark.parametrize(
    "change",
    [
        lambda s: services.addon_add(
            subscription=s,
            bundle=Bundle.objects.get(code="service-plus-cad"),
            today=date(2026, 12, 2),
        ),
        lambda s: services.subscription_change_plan(
            subscription=s, plan=Plan.objects.get(code="hosting-b"), today=date(2026, 12, 2)
        ),
        lambda s: services.coupon_redeem(subscription=s, code="coupon_87", today=date(2026, 12, 2)),
        lambda s: services.subscription_contract_add(
            subscription=s,
            contract=ProductContract.objects.get(code="maintenance-monthly"),
            start_date=date(2026, 12, 2),
            today=date(2026, 12, 2),
        ),
    ],
    ids=["addon_add", "change_plan", "coupon_redeem", "contract_add"],
)
def test_a_subscription_that_has_ended_can_no_longer_change(ended_hosting, change):
    refused(lambda: change(ended_hosting), "The subscription has ended: it can no longer change.")


def test_the_po_reference_of_an_ended_subscription_no_longer_changes(ended_hosting):
    refused(
        lambda: services.subscription_set_po_reference(
            subscription=ended_hosting, po_reference="PO-LATE", today=date(2026, 12, 2)
        ),
        "The subscription has ended: no invoice follows, so its PO reference no longer changes.",
        "po_reference",
    )


def test_a_po_reference_with_control_characters_is_refused_at_creation(world):
    refused(
        create(world, po_reference="PO-\x0712"),
        "A PO reference cannot contain control or invisible characters",
        "po_reference",
    )


@pytest.mark.parametrize("po_reference", ["PO\t2026", "PO\x7f2026", "PO\x852026"])
def test_a_po_reference_with_control_characters_is_refused_on_edit(world, po_reference):
    # C0 controls, DEL and C1 controls (U+0085 next line) never print on an invoice.
    refused(
        lambda: services.subscription_set_po_reference(
            subscription=world["devices"], po_reference=po_reference, today=TODAY
        ),
        "A PO reference cannot contain control or invisible characters",
        "po_reference",
    )
    assert world["devices"].po_reference == ""


# Product contracts (subscriptions/services/contracts.py) ---------------------------------------


def held(world, code: str, start=date(2026, 11, 1), today=TODAY) -> SubscriptionContract:
    return services.subscription_contract_add(
        subscription=world["devices"],
        contract=ProductContract.objects.get(code=code),
        start_date=start,
        today=today,
    )


@pytest.mark.parametrize(
    ("code", "call", "message"),
    [
        (
            "maintenance-monthly",
            lambda h: services.issues_schedule(subscription_contract=h, day=TODAY),
            "Only issue-based contracts have issues.",
        ),
        (
            "magazine-6-issues",
            lambda h: services.credits_grant(subscription_contract=h, day=TODAY),
            "Only credit-based contracts have credits.",
        ),
        (
            "maintenance-monthly",
            lambda h: services.credits_consume(subscription_contract=h, amount=D("1"), day=TODAY),
            "Only credit-based contracts have credits.",
        ),
    ],
    ids=["issues_of_a_time_contract", "grant_on_issues", "consume_on_time"],
)
def test_an_operation_of_another_kind_of_contract_is_refused(world, code, call, message):
    contract = held(world, code)
    refused(lambda: call(contract), message)


def test_consuming_the_credits_of_an_ended_contract_is_refused(world):
    # Without time intervals, a credit-based contract ends on the day it is cancelled.
    ProductContract.objects.filter(code="support-credits").update(credit_intervals=False)
    contract = held(world, "support-credits")
    contract = services.subscription_contract_cancel(subscription_contract=contract, today=TODAY)
    assert contract.status == SubscriptionContract.Status.ENDED
    assert services.credit_balance(subscription_contract=contract) == D("20")
    refused(
        lambda: services.credits_consume(subscription_contract=contract, amount=D("1"), day=TODAY),
        f"This contract ended on {TODAY.isoformat()}: its credits can no longer be used.",
    )


def test_consuming_credits_after_the_end_date_is_refused_before_any_job_ends_it(world):
    # With intervals, a cancellation takes effect at the end of the accounting period; the
    # contract is still "pending cancellation" on the next day until a job records its end.
    contract = held(world, "support-credits")
    contract = services.subscription_contract_cancel(subscription_contract=contract, today=TODAY)
    assert contract.status == SubscriptionContract.Status.PENDING_CANCELLATION
    end = contract.end_date
    later = end + timedelta(days=1)
    refused(
        lambda: services.credits_consume(subscription_contract=contract, amount=D("1"), day=later),
        f"This contract ended on {end.isoformat()}: its credits can no longer be used.",
    )
    # The day before its end, the credits still serve.
    entry = services.credits_consume(
        subscription_contract=contract, amount=D("1"), day=end - timedelta(days=1)
    )
    assert entry.amount == D("-1")


def test_cancelling_a_contract_twice_is_refused(world):
    contract = held(world, "maintenance-monthly")
    first = services.subscription_contract_cancel(subscription_contract=contract, today=TODAY)
    assert (first.status, first.end_date) == ("pending_cancellation", date(2027, 1, 1))
    refused(
        lambda: services.subscription_contract_cancel(subscription_contract=contract, today=TODAY),
        "This contract is already cancelled or ended.",
    )


@pytest.fixture
def single_run_magazine(world):
    """Six issues in the half-year from 2026-01-01 (on 01-01, 01-31, 03-02, 04-01, 05-01 and
    05-31), not repeated; 14 days' cancellation period before each issue."""
    ProductContract.objects.filter(code="magazine-6-issues").update(repeat_until_cancelled=False)
    contract = held(world, "magazine-6-issues", start=date(2026, 1, 1), today=date(2026, 1, 1))
    issues = ScheduledIssue.objects.filter(subscription_contract=contract).order_by("number")
    assert issues.last().issue_date == date(2026, 5, 31)
    return contract


@pytest.mark.parametrize("today", [date(2026, 1, 10), date(2026, 5, 25), date(2026, 6, 15)])
def test_cancelling_a_single_run_of_issues_is_refused(single_run_magazine, today):
    # The issues of a billing period are invoiced at its start, and a cancellation takes effect
    # from the first issue of the next period: a single run has none (it ends on 2026-07-01).
    refused(
        lambda: services.subscription_contract_cancel(
            subscription_contract=single_run_magazine, today=today
        ),
        "The issues of this contract's last billing period were invoiced at its start: it ends "
        "on 2026-07-01, with nothing left to cancel.",
    )


# Coupons (subscriptions/services/coupons.py) ----------------------------------------------------


@pytest.fixture
def hosting_with_addon(world):
    services.addon_add(
        subscription=world["hosting"],
        bundle=Bundle.objects.get(code="service-plus-cad"),
        today=TODAY,
    )
    return world["hosting"]


def test_a_code_before_its_campaign_starts_is_refused(hosting_with_addon):
    CouponCampaign.objects.filter(code="coupon-87").update(valid_from=date(2026, 12, 1))
    refused(
        lambda: services.coupon_redeem(
            subscription=hosting_with_addon, code="coupon_87", today=TODAY
        ),
        "The code coupon_87 can be used from 2026-12-01.",
        "code",
    )


def test_a_code_for_other_plans_is_refused(hosting_with_addon):
    CouponCampaign.objects.get(code="coupon-87").plans.set([Plan.objects.get(code="hosting-b")])
    refused(
        lambda: services.coupon_redeem(
            subscription=hosting_with_addon, code="coupon_87", today=TODAY
        ),
        "The code coupon_87 is not valid for Hosting A.",
        "code",
    )


def test_a_code_redeemed_once_on_a_subscription_is_refused_a_second_time(hosting_with_addon):
    # Two uses allowed, so that it is the subscription that refuses, not the exhausted code.
    CouponCode.objects.filter(code="coupon_87").update(max_redemptions=2)
    services.coupon_redeem(subscription=hosting_with_addon, code="coupon_87", today=TODAY)
    assert CouponCode.objects.get(code="coupon_87").status == CouponCode.Status.ACTIVE
    refused(
        lambda: services.coupon_redeem(
            subscription=hosting_with_addon, code="coupon_87", today=TODAY
        ),
        "The code coupon_87 was already redeemed on this subscription.",
        "code",
    )


# Creation (subscriptions/services/creation.py) --------------------------------------------------


@pytest.mark.parametrize(
    "validity",
    [{"valid_from": date(2026, 12, 1)}, {"valid_until": date(2026, 11, 20)}],
    ids=["not_yet", "no_longer"],
)
def test_create_refuses_a_plan_not_sold_on_that_date(world, validity):
    Plan.objects.filter(code="device-seats").update(**validity)
    refused(create(world), "The plan Device seats is not sold on 2026-11-21.", "plan")


@pytest.mark.parametrize("percent", [D("100"), D("-0.01"), D("150")])
def test_create_refuses_a_partner_discount_out_of_range(world, percent):
    refused(
        create(world, partner_discount_percent=percent),
        "A partner discount lies from 0 up to, but not including, 100 (percent).",
        "partner_discount_percent",
    )


@pytest.mark.parametrize("product_code", ["hosting-a", "seat-gateway"])
def test_create_refuses_a_product_that_is_not_an_option_of_the_plan(world, product_code):
    # Seat products are optional items of the bundle, yet chosen as seats, never as options.
    product = Product.objects.get(code=product_code)
    refused(
        create(world, options={product.pk: 1}),
        "This product is not an option of Device seats.",
        "options",
    )


@pytest.mark.parametrize("quantity", [-1, 1.7, "x", "2.5", True])
def test_create_refuses_an_option_quantity_that_is_not_a_whole_number(world, quantity):
    storage = Product.objects.get(code="storage-gb")  # an option of the platform plan
    refused(
        create(
            world,
            plan=Plan.objects.get(code="platform-yearly"),
            seats={},
            service_period_years=None,
            options={storage.pk: quantity},
        ),
        "A quantity is a whole number, 0 or more.",
        "options",
    )


def test_create_refuses_an_option_named_by_anything_but_its_id(world):
    refused(
        create(
            world,
            plan=Plan.objects.get(code="platform-yearly"),
            seats={},
            service_period_years=None,
            options={"storage": 1},
        ),
        "An option is chosen by its product id.",
        "options",
    )


@pytest.mark.parametrize("quantity", [-1, 1.7, "many"])
def test_create_refuses_an_add_on_quantity_that_is_not_a_whole_number(world, quantity):
    addon = Bundle.objects.get(code="service-plus-cad")
    refused(
        hosting_create(world, addons={addon.pk: quantity}),
        "A quantity is a whole number, 0 or more.",
        "addons",
    )


def test_create_refuses_an_add_on_priced_in_another_currency(world):
    # An operator made the EUR add-on compatible with a CAD plan: the currency still refuses it.
    eur_addon = Bundle.objects.get(code="service-plus-eur")
    Plan.objects.get(code="hosting-a").addon_bundles.add(eur_addon)
    refused(
        hosting_create(world, addons={eur_addon.pk: 1}),
        "Additional service (EUR) is priced in EUR, the subscription in CAD.",
        "addons",
    )


def test_create_refuses_a_service_period_on_a_plan_without_any(world):
    refused(
        hosting_create(world, service_period_years=3),
        "Hosting A has no service periods to choose from.",
        "service_period_years",
    )


# Customers and devices (subscriptions/services/customers.py) ------------------------------------


def test_the_currency_of_a_customer_with_subscriptions_cannot_change(world):
    refused(
        lambda: services.customer_update(customer=world["customer"], currency="CAD"),
        "The customer has subscriptions in EUR: its currency cannot change.",
        "currency",
    )


@pytest.mark.parametrize("count", [-1, 2.5, "3", True])
def test_a_device_count_is_a_whole_number_zero_or_more(world, count):
    refused(
        lambda: services.devices_set(
            customer=world["customer"], seat_type=world["gateway"], count=count
        ),
        "A number of devices is a whole number, 0 or more.",
        "count",
    )


# Add-ons (subscriptions/services/details.py) ----------------------------------------------------


@pytest.mark.parametrize("quantity", [0, -1, True])
def test_adding_no_add_on_is_refused(world, quantity):
    refused(
        lambda: services.addon_add(
            subscription=world["hosting"],
            bundle=Bundle.objects.get(code="service-plus-cad"),
            today=TODAY,
            quantity=quantity,
        ),
        "Add at least one.",
        "quantity",
    )


# Plan changes (subscriptions/services/plans.py) -------------------------------------------------


def test_a_plan_change_before_the_fulfilment_is_refused(world):
    platform = services.subscription_create(
        customer=world["customer"],
        plan=Plan.objects.get(code="platform-yearly"),
        start_date=TODAY,
        today=TODAY,
    ).subscription
    assert platform.status == Subscription.Status.PENDING_FULFILMENT
    refused(
        lambda: services.subscription_change_plan(
            subscription=platform, plan=Plan.objects.get(code="device-seats"), today=TODAY
        ),
        "The subscription waits for its fulfilment: its plan cannot change before.",
    )


@pytest.mark.parametrize(
    ("currency", "period"),
    [("CAD", (3, "month")), ("EUR", (1, "month"))],
    ids=["quarterly", "in_euros"],
)
def test_a_plan_change_to_another_billing_period_or_currency_is_refused(world, currency, period):
    other = monthly_plan(
        "400.00",
        currency=currency,
        period=period,
        name="Hosting C",
        upgrade_group=Plan.objects.get(code="hosting-a").upgrade_group,
        upgrade_rank=3,
    )
    error = refused(
        lambda: services.subscription_change_plan(
            subscription=world["hosting"], plan=other, today=TODAY
        ),
        f"in {currency}: a change keeps the billing period and currency.",
        "plan",
    )
    assert error.message.startswith("Hosting C is billed every ")


def test_a_plan_change_to_a_plan_without_the_seat_types_in_use_is_refused(world):
    group = UpgradeGroup.objects.create(code="devices", name="Devices")
    Plan.objects.filter(code="device-seats").update(upgrade_group=group, upgrade_rank=1)
    flat = monthly_plan(
        "90.00", period=(3, "month"), name="Devices flat", upgrade_group=group, upgrade_rank=2
    )
    world["devices"].refresh_from_db()
    refused(
        lambda: services.subscription_change_plan(
            subscription=world["devices"], plan=flat, today=TODAY
        ),
        "Devices flat does not sell the seat types this subscription uses.",
        "plan",
    )


# Seats (subscriptions/services/seats.py) --------------------------------------------------------


@pytest.mark.parametrize("quantity", [-1, 5.5, "6", True])
def test_a_reduction_to_anything_but_a_whole_number_is_refused(world, quantity):
    refused(
        lambda: services.seats_reduce(
            subscription=world["devices"],
            seat_type=world["gateway"],
            quantity=quantity,
            today=TODAY,
        ),
        "A number of seats is a whole number, 0 or more.",
        "quantity",
    )
