"""Fixtures of the storefront tests: grids built on the demo catalog."""

from __future__ import annotations

import pytest

from catalog.models import OffersGrid, OffersGridPlan, Plan


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
