"""Offers grids in the admin: added and changed with their plans; refusals shown on the field
to change, with nothing written."""

from __future__ import annotations

import pytest
from django.urls import reverse

from catalog import services
from catalog.models import CouponCampaign, OffersGrid, OffersGridPlan, Plan
from core.errors import ApplicationError

pytestmark = pytest.mark.django_db


def _form_errors(response) -> str:
    """All error messages of the admin page: the grid's form and its plans' rows."""
    texts = [
        str(e) for errors in response.context["adminform"].form.errors.values() for e in errors
    ]
    for formset in response.context["inline_admin_formsets"]:
        texts += [str(e) for e in formset.formset.non_form_errors()]
        texts += [str(e) for f in formset.formset.errors for errors in f.values() for e in errors]
    return " | ".join(texts)


def _entries(rows: list[dict], initial: int = 0) -> dict:
    data = {
        "entries-TOTAL_FORMS": str(len(rows)),
        "entries-INITIAL_FORMS": str(initial),
        "entries-MIN_NUM_FORMS": "0",
        "entries-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        for key, value in row.items():
            data[f"entries-{index}-{key}"] = value
    return data


def _plan(code: str) -> str:
    return str(Plan.objects.get(code=code).pk)


def _grid(**values) -> dict:
    return {
        "code": "spring",
        "is_active": "on",
        "segment": "public",
        "campaign": "",
        "currency": "EUR",
        "name": "Spring offers",
        "name_fr": "Offres de printemps",
        "intro": "",
        "intro_fr": "",
        "frame_ancestors": "",
        **values,
    }


def _row(plan: str, yearly: str = "", **values) -> dict:
    return {
        "position": "0",
        "plan": _plan(plan),
        "yearly_plan": _plan(yearly) if yearly else "",
        "badge": "",
        "badge_fr": "",
        **values,
    }


ADD = reverse("admin:catalog_offersgrid_add")


def test_a_grid_is_added_with_its_plans_and_changed(operator_client, demo_catalog):
    data = _grid(frame_ancestors="https://www.example.com 'self'") | _entries(
        [
            _row("api-prepaid-monthly"),
            _row(
                "cloud-backup-monthly",
                "cloud-backup-yearly",
                position="1",
                highlighted="on",
                badge="Best",
                badge_fr="Le meilleur",
            ),
        ]
    )
    response = operator_client.post(ADD, data)
    assert response.status_code == 302, _form_errors(response)
    grid = OffersGrid.objects.get(code="spring")
    entries = list(grid.entries.order_by("position"))
    assert [e.plan.code for e in entries] == ["api-prepaid-monthly", "cloud-backup-monthly"]
    assert entries[1].yearly_plan.code == "cloud-backup-yearly" and entries[1].highlighted
    # Changed: unpublished, its first plan removed; the change is in its history.
    change = reverse("admin:catalog_offersgrid_change", args=[grid.pk])
    page = operator_client.get(change)
    assert page.status_code == 200
    assert 'href="/offers/spring/"' in page.content.decode()  # "View on site"
    data = _grid(frame_ancestors="") | _entries(
        [
            {
                **_row("api-prepaid-monthly"),
                "id": str(entries[0].pk),
                "grid": str(grid.pk),
                "DELETE": "on",
            },
            {
                **_row("cloud-backup-monthly", "cloud-backup-yearly", highlighted="on"),
                "id": str(entries[1].pk),
                "grid": str(grid.pk),
            },
        ],
        initial=2,
    )
    del data["is_active"]
    response = operator_client.post(change, data)
    assert response.status_code == 302, _form_errors(response)
    grid.refresh_from_db()
    assert not grid.is_active
    assert [e.plan.code for e in grid.entries.all()] == ["cloud-backup-monthly"]
    assert grid.history.count() == 2
    listing = operator_client.get(
        reverse("admin:catalog_offersgrid_changelist"), {"segment": "public"}
    )
    assert "spring" in listing.content.decode()


@pytest.mark.parametrize(
    ("grid", "rows", "message"),
    [
        ({"currency": "CAD"}, ["one-plan"], "is sold in EUR and the grid shows CAD"),
        ({}, ["yearly-is-monthly"], "the yearly plan must be billed every year"),
        ({}, ["yearly-is-itself"], "The yearly plan is the plan itself"),
        ({"segment": "campaign"}, [], "A campaign grid names its coupon campaign"),
        (
            {"frame_ancestors": "https://ok.example http://plain.example"},
            [],
            "“http://plain.example” is not an origin",
        ),
        ({"frame_ancestors": "https://shop.example/path"}, [], "is not an origin"),
        ({}, ["two-highlights"], "A grid highlights one plan at most"),
    ],
    ids=["currency", "yearly-period", "yearly-itself", "campaign", "http", "path", "highlights"],
)
def test_an_invalid_grid_is_refused_on_its_field_and_nothing_is_written(
    operator_client, demo_catalog, grid, rows, message
):
    built = {
        "one-plan": [_row("api-prepaid-monthly")],
        "yearly-is-monthly": [_row("cloud-backup-monthly", "api-metered-monthly")],
        "yearly-is-itself": [_row("cloud-backup-monthly", "cloud-backup-monthly")],
        "two-highlights": [
            _row("api-prepaid-monthly", highlighted="on"),
            _row("api-metered-monthly", highlighted="on"),
        ],
    }
    entries = [row for name in rows for row in built[name]] or [_row("api-prepaid-monthly")]
    before = (OffersGrid.objects.count(), OffersGridPlan.objects.count())
    response = operator_client.post(ADD, _grid(**grid) | _entries(entries))
    assert response.status_code == 200
    assert message in _form_errors(response)
    assert (OffersGrid.objects.count(), OffersGridPlan.objects.count()) == before


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"segment": "campaign"}, "campaign"),
        ({"frame_ancestors": "www.example.com"}, "frame_ancestors"),
    ],
)
def test_a_grid_refusal_sits_on_its_field(operator_client, demo_catalog, values, field):
    response = operator_client.post(ADD, _grid(**values) | _entries([_row("api-prepaid-monthly")]))
    errors = response.context["adminform"].form.errors
    assert list(errors) == [field]
    assert len(errors[field]) == 1  # the database constraint is not said a second time


def test_the_errors_name_their_field(demo_catalog):
    grid = OffersGrid(code="x", name="X", currency="CAD")
    entry = OffersGridPlan(grid=grid, plan=Plan.objects.get(code="api-prepaid-monthly"))
    with pytest.raises(ApplicationError) as refusal:
        services.offers_grid_entry_validate(grid=grid, entry=entry)
    assert refusal.value.field == "plan"
    entry = OffersGridPlan(
        grid=OffersGrid(code="x", currency="EUR"),
        plan=Plan.objects.get(code="cloud-backup-monthly"),
        yearly_plan=Plan.objects.get(code="api-metered-monthly"),
    )
    with pytest.raises(ApplicationError) as refusal:
        services.offers_grid_entry_validate(grid=entry.grid, entry=entry)
    assert refusal.value.field == "yearly_plan"
    campaign = CouponCampaign.objects.get(code="coupon-87")
    with pytest.raises(ApplicationError) as refusal:
        services.offers_grid_validate(
            grid=OffersGrid(code="x", segment="public", campaign=campaign)
        )
    assert refusal.value.field == "campaign"


def test_a_plan_in_the_grid_twice_is_refused(demo_catalog):
    grid = OffersGrid(code="x", currency="EUR")
    plan = Plan.objects.get(code="cloud-backup-yearly")
    entries = [
        OffersGridPlan(
            grid=grid, plan=Plan.objects.get(code="cloud-backup-monthly"), yearly_plan=plan
        ),
        OffersGridPlan(grid=grid, plan=Plan.objects.get(code="api-prepaid-monthly")),
        OffersGridPlan(grid=grid, plan=Plan.objects.get(code="api-prepaid-monthly")),
    ]
    with pytest.raises(ApplicationError, match="appears twice"):
        services.offers_grid_entries_validate(grid=grid, entries=entries)
