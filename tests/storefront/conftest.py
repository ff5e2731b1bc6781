"""Fixtures of the storefront tests: a small catalog for the checkout (one grid selling a 30.00
EUR monthly plan taxed at 20 %, a trial plan and a coupon campaign, 10 % off), and grids built
on the demo catalog for the grid pages."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings

from catalog import services as catalog_services
from catalog.models import OffersGrid, OffersGridPlan, Plan
from tests.catalog.factories import CouponCampaignFactory, TaxRateFactory, TermFactory
from tests.subscriptions.factories import monthly_plan

ALL_PAYMENTS = ["card", "sepa_debit", "bank_transfer"]


def build_shop() -> dict:
    term = TermFactory(tax_rate=TaxRateFactory(), name="Standard terms")
    plan = monthly_plan("30.00", term=term, code="pro", name="Pro", payment_types=ALL_PAYMENTS)
    trial = monthly_plan(
        "50.00",
        term=term,
        code="team",
        name="Team",
        payment_types=["card", "sepa_debit"],
        trial_count=14,
        trial_unit="day",
    )
    grid = OffersGrid.objects.create(code="shop", name="Our offers", currency="EUR")
    OffersGridPlan.objects.create(grid=grid, plan=plan, position=1)
    OffersGridPlan.objects.create(grid=grid, plan=trial, position=2)
    campaign = CouponCampaignFactory(code="welcome", code_template="WELCOME-##", range_start=10)
    catalog_services.coupon_codes_generate(campaign=campaign)
    return {"grid": grid, "plan": plan, "trial": trial, "campaign": campaign}


@pytest.fixture
def shop(db) -> dict:
    return build_shop()


@pytest.fixture
def day():
    """A fixed business day (2026-03-02, a Monday), the clock ticking."""
    zone = ZoneInfo(settings.BILLING_TIME_ZONE)
    with time_machine.travel(datetime(2026, 3, 2, 10, tzinfo=zone), tick=True) as traveller:
        yield traveller


def plan_of(code: str) -> Plan:
    return Plan.objects.get(code=code)


def make_grid(code: str, plans: list[str], **values) -> OffersGrid:
    """A published grid of these plans (codes, "monthly>yearly" for a twin), in order."""
    values.setdefault("name", code.capitalize())
    values.setdefault("currency", "EUR")
    grid = OffersGrid.objects.create(code=code, **values)
    for position, codes in enumerate(plans):
        plan, _sep, yearly = codes.partition(">")
        OffersGridPlan.objects.create(
            grid=grid,
            plan=Plan.objects.get(code=plan),
            yearly_plan=Plan.objects.get(code=yearly) if yearly else None,
            position=position,
        )
    return grid


@pytest.fixture
def demo_grid(demo_catalog) -> OffersGrid:
    return demo_catalog["grid"]
