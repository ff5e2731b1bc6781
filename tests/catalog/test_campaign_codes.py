"""A coupon campaign generates its codes when it is saved (billing-rules §7, issue 11), through the
admin (Django test client): no campaign shows "0 / 5 codes" waiting for an action."""

import pytest
from django.urls import reverse

from catalog.models import CouponCampaign, CouponCode

pytestmark = pytest.mark.django_db


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def _campaign_form(bundle, **fields) -> dict:
    return {
        "code": "spring",
        "name": "Spring",
        "kind": "coupon",
        "bundle": bundle.pk,
        "code_template": "spring_##",
        "charset": "numeric",
        "range_start": "87",
        "quantity": "5",
        "redemption_quantity": "1",
        **fields,
    }


def test_saving_a_campaign_generates_its_codes_and_the_action_then_makes_nothing(
    operator_client, demo_catalog
):
    """Example 7.1's shape (template `…_##`, numeric, quantity 5, range start 87)."""
    bundle = demo_catalog["campaign"].bundle
    response = operator_client.post(
        reverse("admin:catalog_couponcampaign_add"), _campaign_form(bundle), follow=True
    )
    assert response.status_code == 200
    campaign = CouponCampaign.objects.get(code="spring")
    assert sorted(campaign.codes.values_list("code", flat=True)) == [
        "spring_87",
        "spring_88",
        "spring_89",
        "spring_90",
        "spring_91",
    ]
    assert "5 codes generated (spring_87 … spring_91)." in _messages(response)
    listing = operator_client.get(reverse("admin:catalog_couponcampaign_changelist"))
    assert "5 / 5" in listing.content.decode()

    again = operator_client.post(
        reverse("admin:catalog_couponcampaign_changelist"),
        {"action": "generate_codes", "_selected_action": [campaign.pk]},
        follow=True,
    )
    assert "spring already had all their codes: nothing new was made." in _messages(again)
    assert not any("Codes generated" in m for m in _messages(again))
    assert campaign.codes.count() == 5


def test_raising_the_quantity_on_the_form_generates_the_missing_codes(
    operator_client, demo_catalog
):
    campaign = demo_catalog["campaign"]
    data = _campaign_form(
        campaign.bundle,
        code=campaign.code,
        name=campaign.name,
        code_template="coupon_##",
        quantity="7",
        status="active",
    )
    response = operator_client.post(
        reverse("admin:catalog_couponcampaign_change", args=[campaign.pk]), data, follow=True
    )
    assert response.status_code == 200
    assert campaign.codes.count() == 7
    assert "2 codes generated (coupon_92 … coupon_93)." in _messages(response)


def test_codes_another_campaign_has_whatever_their_case_refuse_the_form(
    operator_client, demo_catalog
):
    """billing-rules §7: codes match whatever their case, so COUPON_90 is coupon_90 (demo's 7.1)."""
    bundle = demo_catalog["campaign"].bundle
    response = operator_client.post(
        reverse("admin:catalog_couponcampaign_add"),
        _campaign_form(bundle, code="shout", code_template="COUPON_##", range_start="90"),
    )
    assert response.status_code == 200
    errors = str(response.context["adminform"].form.errors)
    assert "coupon_90, coupon_91 already exist in another campaign" in errors
    assert not CouponCampaign.objects.filter(code="shout").exists()
    assert CouponCode.objects.count() == 5
