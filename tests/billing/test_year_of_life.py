"""A year of one subscription's life, run day by day through `manage.py run_billing`.

Seats added, a downgrade, a renewal into another term, a cancellation with a penalty: the
invoices must be exactly those a person computes by hand (below, with the arithmetic).
"""

from datetime import date, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from billing.models import Invoice
from catalog.models import (
    Bundle,
    BundleItem,
    Plan,
    PriceSheet,
    Product,
    SeatType,
    TaxRate,
    Term,
    UpgradeGroup,
)
from subscriptions import services
from subscriptions.models import Subscription
from tests.subscriptions.factories import CustomerFactory

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def team_plans():
    vat = TaxRate.objects.create(code="VAT20", name="VAT", rate=D("20"))
    yearly = Term.objects.create(
        code="yearly",
        name="Yearly, prorated penalty",
        commitment_basis="calendar",
        commitment_count=12,
        commitment_unit="month",
        early_termination="penalty",
        currency="EUR",
        penalty_cap=D("120"),
        penalty_prorated=True,
        tax_rate=vat,
    )
    initial = Term.objects.create(
        code="initial",
        name="Six months, then yearly",
        commitment_basis="calendar",
        commitment_count=6,
        commitment_unit="month",
        early_termination="penalty",
        currency="EUR",
        penalty_cap=D("100"),
        penalty_prorated=True,
        renewal_term=yearly,
        tax_rate=vat,
    )
    desk = SeatType.objects.create(code="desk", name="Desk")
    seat = Product.objects.create(code="desk-seat", name="Desk seat", seat_type=desk)
    seat_price = PriceSheet.objects.create(
        code="desk-eur",
        name="Desk",
        product=seat,
        currency="EUR",
        pricing_model="per_unit",
        amount=D("12"),
    )
    group = UpgradeGroup.objects.create(code="team", name="Team")
    plans = {}
    for code, base, rank in (("team", "30", 1), ("team-plus", "50", 2)):
        product = Product.objects.create(code=f"{code}-base", name=f"{code} base")
        sheet = PriceSheet.objects.create(
            code=f"{code}-eur", name=code, product=product, currency="EUR", amount=D(base)
        )
        bundle = Bundle.objects.create(code=code, name=code)
        BundleItem.objects.create(bundle=bundle, product=product, price_sheet=sheet)
        BundleItem.objects.create(
            bundle=bundle, product=seat, price_sheet=seat_price, required=False
        )
        plan = Plan.objects.create(
            code=code,
            name=code,
            currency="EUR",
            term=initial,
            upgrade_group=group,
            upgrade_rank=rank,
            status="active",
            payment_types=["card"],
        )
        plan.bundles.set([bundle])
        plans[code] = plan
    return plans, desk


def test_a_year_of_life_day_by_day(team_plans):
    plans, desk = team_plans
    state = {}

    def start(day):
        state["sub"] = services.subscription_create(
            customer=CustomerFactory(),
            plan=plans["team-plus"],
            start_date=day,
            today=day,
            seats={desk: 5},
            po_reference="PO-YEAR",
        ).subscription

    changes = {
        date(2026, 1, 1): start,
        date(2026, 3, 16): lambda day: services.seats_add(
            subscription=state["sub"], seat_type=desk, quantity=3, today=day
        ),
        date(2026, 5, 10): lambda day: services.subscription_change_plan(
            subscription=state["sub"], plan=plans["team"], today=day
        ),
        date(2026, 9, 15): lambda day: services.subscription_cancel(
            subscription=state["sub"], today=day
        ),
    }
    day = date(2026, 1, 1)
    while day <= date(2026, 12, 31):
        if day in changes:
            changes[day](day)
        call_command("run_billing", date=day.isoformat(), stdout=StringIO())
        day += timedelta(days=1)

    invoices = [
        (i.number, i.issue_date, i.net_total.amount, i.tax_total.amount, i.total.amount)
        for i in Invoice.objects.order_by("sequence")
    ]
    team_plus = (D("110.00"), D("22.00"), D("132.00"))  # 50 + 5 desks × 12
    eight = (D("146.00"), D("29.20"), D("175.20"))  # 50 + 8 × 12
    team = (D("126.00"), D("25.20"), D("151.20"))  # after the downgrade: 30 + 8 × 12
    expected = [
        (date(2026, 1, 1), *team_plus),
        (date(2026, 2, 1), *team_plus),
        (date(2026, 3, 1), *team_plus),
        # 3 desks from 16 March: 3 × 12 × 16/31 = 18.58, VAT 3.72
        (date(2026, 3, 16), D("18.58"), D("3.72"), D("22.30")),
        (date(2026, 4, 1), *eight),
        (date(2026, 5, 1), *eight),  # the downgrade asked on 10 May waits for the period end
        (date(2026, 6, 1), *team),
        (date(2026, 7, 1), *team),  # renewed into the yearly term: commitment to 2027-07-01
        (date(2026, 8, 1), *team),
        (date(2026, 9, 1), *team),
        # Cancelled on 15 September: effective 2026-10-01, penalty 120 × 273/365 = 89.75, VAT 17.95
        (date(2026, 9, 15), D("89.75"), D("17.95"), D("107.70")),
    ]
    assert invoices == [(f"F2026-{n:06d}", *row) for n, row in enumerate(expected, start=1)]

    subscription = Subscription.objects.get()
    assert subscription.status == "cancelled" and subscription.end_date == date(2026, 10, 1)
    renewal = subscription.events.get(kind="renewed")
    assert (
        renewal.effective_date == date(2026, 7, 1)
        and renewal.data["commitment_end"] == "2027-07-01"
    )
    assert subscription.term.code == "yearly"
    penalty = Invoice.objects.get(issue_date=date(2026, 9, 15)).lines.get()
    assert penalty.rule.startswith("Early termination penalty: 120.00 × 273 ÷ 365 = 89.75")
    assert all(i.po_reference == "PO-YEAR" for i in Invoice.objects.all())
