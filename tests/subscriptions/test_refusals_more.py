"""The refusals test_refusals.py does not reach yet: each says why in words a person can act on,
and changes nothing (every row a refused change could have touched is compared before/after)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.forms.models import model_to_dict

from catalog.models import (
    Bundle,
    CouponCampaign,
    CouponCode,
    Plan,
    Product,
    ProductContract,
    UpgradeGroup,
)
from core.errors import ApplicationError
from subscriptions import services
from subscriptions.models import (
    CouponRedemption,
    CreditEntry,
    Customer,
    DeployedDevices,
    ScheduledIssue,
    Subscription,
    SubscriptionContract,
    SubscriptionDiscount,
    SubscriptionEvent,
    SubscriptionItem,
    SubscriptionSeat,
)
from tests.subscriptions.factories import monthly_plan
from tests.subscriptions.test_refusals import TODAY, create

pytestmark = pytest.mark.django_db
D = Decimal


def snapshot():
    """Everything a refused change could have touched."""
    return {
        "customers": list(Customer.objects.order_by("pk").values()),
        "devices": list(DeployedDevices.objects.order_by("pk").values()),
        "subscriptions": [model_to_dict(s) for s in Subscription.objects.order_by("pk")],
        "events": list(SubscriptionEvent.objects.order_by("pk").values()),
        "seats": list(SubscriptionSeat.objects.order_by("pk").values()),
        "items": list(SubscriptionItem.objects.order_by("pk").values()),
        "discounts": list(SubscriptionDiscount.objects.order_by("pk").values("pk", "label")),
        "codes": list(CouponCode.objects.order_by("pk").values("pk", "times_redeemed", "status")),
        "redemptions": CouponRedemption.objects.count(),
        "contracts": list(SubscriptionContract.objects.order_by("pk").values()),
        "issues": list(ScheduledIssue.objects.order_by("pk").values()),
        "credits": list(CreditEntry.objects.order_by("pk").values()),
    }


def refused(call, message: str, field: str | None = None) -> ApplicationError:
    before = snapshot()
    with pytest.raises(ApplicationError) as error:
        call()
    assert message in error.value.message, error.value.message
    if field is not None:
        assert error.value.field == field
    assert snapshot() == before, "a refusal changed something"
    return error.value


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
    assert services.credit_balance(contract) == D("20")
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


def test_cancelling_after_the_last_issue_is_refused(single_run_magazine):
    refused(
        lambda: services.subscription_contract_cancel(
            subscription_contract=single_run_magazine, today=date(2026, 6, 15)
        ),
        "There is no issue left to cancel.",
    )


def test_cancelling_within_the_cancellation_period_of_the_last_issue_is_refused(
    single_run_magazine,
):
    # 2026-05-25 is after the deadline of 2026-05-17 for the issue of 2026-05-31, the last one.
    refused(
        lambda: services.subscription_contract_cancel(
            subscription_contract=single_run_magazine, today=date(2026, 5, 25)
        ),
        "It is too late to cancel before the last issue.",
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
