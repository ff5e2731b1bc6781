"""More of the partner portal: the add-seats form names what is wrong with the quantity (and
saves nothing), and a subscription started in the past, for devices already installed, is
reviewed, confirmed and billed for every period since its start."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from billing.models import Invoice
from catalog.models import Plan, SeatType
from subscriptions.models import Subscription, SubscriptionEvent
from tests.partners import builders
from tests.partners.test_portal import purchase_data

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return response.content.decode()


# Adding seats: the refusal names the problem -----------------------------------------------------


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        ("0", "Ensure this value is greater than or equal to 1."),
        ("-4", "Ensure this value is greater than or equal to 1."),
        ("4.5", "Enter a whole number."),
        ("four", "Enter a whole number."),
        ("", "This field is required."),
        ("100001", "Ensure this value is less than or equal to 100000."),
    ],
)
def test_a_bad_number_of_seats_is_refused_with_its_reason_and_nothing_is_saved(
    partner_client, bakery, on, quantity, message
):
    subscription = builders.sell_seats(bakery)
    builders.bill(date(2026, 1, 1))
    invoices = Invoice.objects.count()
    on(date(2026, 2, 15))
    url = reverse("partners:seats_add", args=[bakery.pk])

    response = partner_client.post(
        url,
        {
            "subscription": subscription.pk,
            "seat_type": SeatType.objects.get(code="gateway").pk,
            "quantity": quantity,
        },
    )

    assert response.status_code == 200
    # the message sits under the quantity field, not somewhere else on the page
    assert f'<ul class="errorlist" id="id_quantity_error"><li>{message}</li></ul>' in text(response)
    assert 'class="field field--error"' in text(response)
    assert f"partners:add-seats:{bakery.pk}" not in partner_client.session
    seat = subscription.seats.get()
    assert (seat.quantity, seat.scheduled_quantity) == (10, None)
    assert not subscription.events.filter(kind=SubscriptionEvent.Kind.SEATS_ADDED).exists()
    assert Invoice.objects.count() == invoices
    # nothing was kept for the review step either: it sends back to the form
    review = partner_client.get(reverse("partners:seats_add_review", args=[bakery.pk]))
    assert review.status_code == 302 and review.url == url


def test_after_a_refusal_a_valid_number_goes_through(partner_client, bakery, on):
    subscription = builders.sell_seats(bakery)
    on(date(2026, 2, 15))
    url = reverse("partners:seats_add", args=[bakery.pk])
    gateway = SeatType.objects.get(code="gateway")
    refused = partner_client.post(
        url, {"subscription": subscription.pk, "seat_type": gateway.pk, "quantity": "0"}
    )
    assert "Ensure this value is greater than or equal to 1." in text(refused)
    assert 'value="0"' in text(refused)  # the input is given back to correct

    response = partner_client.post(
        url, {"subscription": subscription.pk, "seat_type": gateway.pk, "quantity": "4"}
    )
    assert response.status_code == 302
    partner_client.post(response.url, {"accept_terms": "on"})
    assert subscription.seats.get().quantity == 14


# A subscription started in the past --------------------------------------------------------------


def test_a_past_start_is_reviewed_confirmed_and_every_period_since_is_billed(
    partner_client, bakery, on
):
    # Given the gateways installed since 2026-01-01, sold on 2026-05-10 (RULES example 6.1)
    on(date(2026, 5, 10))
    url = reverse("partners:subscription_new", args=[bakery.pk])
    review_url = reverse("partners:subscription_review", args=[bakery.pk])

    # When the partner asks for the review: the first period is the one of the start
    response = partner_client.post(url, purchase_data(start_date="2026-01-01", action="review"))
    assert response.status_code == 302 and response.url == review_url
    review = text(partner_client.get(review_url))
    assert "<dt>Start date</dt><dd>2026-01-01</dd>" in review
    assert "Billing starts on 2026-01-01 (billing period: 3 months)." in review
    # the catch-up is told before confirming: two quarters begun, each on its own invoice
    assert "2 billing periods have begun since then: they are invoiced at once" in review
    assert 'id="catch-up-invoices"' in review
    assert '2026-01-01 – 2026-04-01</th><td class="num">129.60 EUR' in review
    assert '2026-04-01 – 2026-07-01</th><td class="num">129.60 EUR' in review
    assert "the first covers 2026-01-01 to 2026-04-01" in review
    assert 'data-amount="total">129.60 EUR' in review
    assert "<dt>Commitment end</dt><dd>2029-01-01</dd>" in review  # from the start, not today
    assert not Subscription.objects.exists()

    # And confirms
    done = partner_client.post(review_url, {"accept_terms": "on"})
    assert done.status_code == 302
    subscription = Subscription.objects.get(customer=bakery)
    assert subscription.status == Subscription.Status.ACTIVE
    assert (subscription.start_date, subscription.anchor_date) == (
        date(2026, 1, 1),
        date(2026, 1, 1),
    )
    assert (subscription.current_period_start, subscription.current_period_end) == (
        date(2026, 4, 1),
        date(2026, 7, 1),
    )
    assert subscription.commitment_end == date(2029, 1, 1)

    # Then both quarters since the start are invoiced at once, on confirmation, once each
    invoices = list(Invoice.objects.filter(subscription=subscription).order_by("number"))
    assert [(i.issue_date, i.total.amount) for i in invoices] == [
        (date(2026, 5, 10), Decimal("129.60")),
        (date(2026, 5, 10), Decimal("129.60")),
    ]
    periods = [
        (line.period_start, line.period_end, line.net.amount)
        for invoice in invoices
        for line in invoice.lines.all()
    ]
    assert periods == [
        (date(2026, 1, 1), date(2026, 4, 1), Decimal("108.00")),
        (date(2026, 4, 1), date(2026, 7, 1), Decimal("108.00")),
    ]
    assert {i.po_reference for i in invoices} == {"PO-BM-2026-01"}
    subscription.refresh_from_db()
    assert subscription.next_billing_date == date(2026, 7, 1)
    # the confirmation links to them, and the next invoice is the third quarter's
    page = text(partner_client.get(done.url))
    for invoice in invoices:
        pdf = reverse("partners:invoice_pdf", args=[invoice.pk])
        assert f'<a href="{pdf}">{invoice.number}</a> (129.60 EUR)' in page
    assert "2026-07-01: <strong>129.60 EUR</strong>" in page
    # and the nightly run, later, finds nothing more to bill
    builders.bill(date(2026, 5, 10))
    assert Invoice.objects.filter(subscription=subscription).count() == 2
    listed = text(partner_client.get(reverse("partners:invoices")))
    assert all(invoice.number in listed for invoice in invoices)


def test_a_past_start_estimate_saves_nothing(partner_client, bakery, on):
    on(date(2026, 5, 10))
    response = partner_client.post(
        reverse("partners:subscription_new", args=[bakery.pk]),
        purchase_data(start_date="2026-01-01"),
    )
    assert response.status_code == 200
    assert "The first covers 2026-01-01 to 2026-04-01." in text(response)
    assert 'data-amount="net">108.00 EUR' in text(response)
    assert not Subscription.objects.exists()
    assert not Invoice.objects.exists()


# A plan with manual fulfilment ------------------------------------------------------------------


def test_the_partner_review_of_a_manual_plan_shows_its_price(partner_client, bakery, on):
    Plan.objects.filter(code="device-seats").update(manual_fulfilment=True)
    on(date(2026, 1, 1))
    estimate = text(
        partner_client.post(reverse("partners:subscription_new", args=[bakery.pk]), purchase_data())
    )
    assert "billed once fulfilled" in estimate
    assert 'data-amount="total">129.60 EUR' in estimate  # RULES example 6.1
    partner_client.post(
        reverse("partners:subscription_new", args=[bakery.pk]), purchase_data(action="review")
    )
    review = text(partner_client.get(reverse("partners:subscription_review", args=[bakery.pk])))
    assert "billed once fulfilled" in review
    assert 'data-amount="total">129.60 EUR' in review
    assert "Nothing is invoiced before the subscription is fulfilled." not in review
