"""The demo's offers grid: seeded with the catalog, and seeding again changes nothing."""

from __future__ import annotations

import pytest

from catalog.models import OffersGrid, OffersGridPlan, Plan
from demo.catalog import seed_catalog

pytestmark = pytest.mark.django_db


def _rows() -> tuple:
    return (
        OffersGrid.history.count(),
        Plan.history.count(),
        # The grid's plans keep no audit history of their own (no history table): their rows.
        list(
            OffersGridPlan.objects.values_list(
                "plan__code", "yearly_plan__code", "highlighted", "id"
            )
        ),
    )


def test_the_demo_grid_is_seeded_once(demo_catalog):
    grid = OffersGrid.objects.get(code="cadence")
    assert (grid.name, grid.name_fr, grid.segment, grid.currency) == (
        "Cadence offers",
        "Les offres Cadence",
        "public",
        "EUR",
    )
    assert [row[:3] for row in _rows()[2]] == [
        ("api-prepaid-monthly", None, False),
        ("cloud-backup-monthly", "cloud-backup-yearly", True),
        ("api-metered-monthly", None, False),
    ]
    assert Plan.objects.get(code="cloud-backup-yearly").status == Plan.Status.ACTIVE
    before = _rows()
    seed_catalog()
    assert _rows() == before
