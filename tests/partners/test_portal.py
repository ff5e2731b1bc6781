"""The partner portal through Django's test client: lists, the customer page, the purchase in
three steps, seats added, the PO reference, seat reductions and cancellations with their rules,
invoices; a subscription started in the past, for devices already installed, reviewed, confirmed
and billed for every period since its start. Every refusal is shown in the page and changes
nothing."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from billing.models import Invoice
from catalog.models import Plan, SeatType
from subscriptions.models import Subscription, SubscriptionDiscount, SubscriptionEvent
from tests.partners import builders
from tests.support.pages import text
from tests.support.snapshots import snapshot

pytestmark = pytest.mark.django_db


# Customers ---------------------------------------------------------------------------------------


def test_the_customer_list_shows_the_partners_own_customers_and_searches(
    partner_client, acme, nordic, bakery
):
    builders.partner_customer(acme, "Clinique Saint-Roch", city="Montpellier")
    builders.partner_customer(nordic, "Fjord Logistics", city="Oslo", country="NO")

    page = text(partner_client.get(reverse("partners:customers")))
    assert "Boulangerie Martin" in page and "Clinique Saint-Roch" in page
    assert "Fjord Logistics" not in page

    found = text(partner_client.get(reverse("partners:customers"), {"q": "montpel"}))
    assert "Clinique Saint-Roch" in found and "Boulangerie Martin" not in found
    nothing = text(partner_client.get(reverse("partners:customers"), {"q": "Fjord"}))
    assert "Fjord Logistics" not in nothing and "No customer matches" in nothing


def test_a_customer_without_subscription_offers_to_create_one_not_to_add_seats(
    partner_client, bakery
):
    page = text(partner_client.get(reverse("partners:customer", args=[bakery.pk])))
    assert bakery.email in page and "La Rochelle" in page  # the organisation
    assert 'id="seat-counts"' in page and "Gateway" in page  # the devices deployed
    assert reverse("partners:subscription_new", args=[bakery.pk]) in page
    assert reverse("partners:seats_add", args=[bakery.pk]) not in page
    assert "No subscription yet." in page


def test_a_customer_with_a_subscription_shows_its_details_and_offers_seats(
    partner_client, bakery, on
):
    subscription = builders.sell_seats(bakery, po_reference="PO-BM-2026-01")
    builders.bill(date(2026, 1, 1))  # the first quarter is invoiced: the next is 2026-04-01
    on(date(2026, 2, 1))
    page = text(partner_client.get(reverse("partners:customer", args=[bakery.pk])))
    assert reverse("partners:seats_add", args=[bakery.pk]) in page
    assert f'id="subscription-{subscription.pk}"' in page
    assert "PO-BM-2026-01" in page and "2029-01-01" in page  # PO, commitment end
    assert "10 × Gateway" in page
    assert "2026-04-01: <strong>129.60 EUR</strong>" in page  # the next quarter, VAT included


# Creating a subscription -------------------------------------------------------------------------


def test_the_purchase_estimates_reviews_and_confirms_rules_example_6_1(partner_client, bakery, on):
    on(date(2026, 1, 1))
    url = reverse("partners:subscription_new", args=[bakery.pk])
    form = text(partner_client.get(url))
    assert 'value="2026-01-01"' in form  # today is suggested
    assert "3 years (−10 %)" in form and "5 years (−15 %)" in form

    # The estimate: the first quarter with the partner discount, nothing saved
    estimate = text(partner_client.post(url, builders.purchase_data()))
    assert 'data-amount="net">108.00 EUR' in estimate
    assert 'data-amount="tax">21.60 EUR' in estimate
    assert 'data-amount="total">129.60 EUR' in estimate
    assert "Partner discount (Acme Resellers)" in estimate
    assert not Subscription.objects.exists()

    # The review: the dry run again, the terms to accept
    response = partner_client.post(url, builders.purchase_data(action="review"))
    review_url = reverse("partners:subscription_review", args=[bakery.pk])
    assert response.status_code == 302 and response.url == review_url
    review = text(partner_client.get(review_url))
    assert 'data-amount="total">129.60 EUR' in review
    assert "Cancellations must reach us 90 days before the renewal date" in review
    assert not Subscription.objects.exists()

    # Confirming without accepting the terms is refused
    refused = partner_client.post(review_url, {})
    assert refused.status_code == 200
    assert "Accept the terms to confirm the purchase." in text(refused)
    assert not Subscription.objects.exists()

    # Accepted: sold through subscription_sell, with the partner discount
    done = partner_client.post(review_url, {"accept_terms": "on"})
    subscription = Subscription.objects.get(customer=bakery)
    assert done.status_code == 302
    assert (
        done.url
        == reverse("partners:customer", args=[bakery.pk]) + f"#subscription-{subscription.pk}"
    )
    assert subscription.po_reference == "PO-BM-2026-01"
    assert subscription.service_period_years == 3
    assert subscription.commitment_end == date(2029, 1, 1)
    sources = dict(subscription.discounts.values_list("source", "percentage"))
    assert sources == {
        SubscriptionDiscount.Source.SERVICE_PERIOD: Decimal("10.00"),
        SubscriptionDiscount.Source.PARTNER: Decimal("20.00"),
    }
    created = subscription.events.get(kind=SubscriptionEvent.Kind.CREATED)
    assert created.channel == "partner portal" and created.actor.username == "paul"
    assert f"partners:purchase:{bakery.pk}" not in partner_client.session
    page = text(partner_client.get(done.url))
    assert "The subscription is confirmed." in page


def test_a_future_start_for_coming_installations_is_scheduled(partner_client, bakery, on):
    on(date(2026, 1, 15))
    url = reverse("partners:subscription_new", args=[bakery.pk])
    partner_client.post(url, builders.purchase_data(start_date="2026-03-01", action="review"))
    partner_client.post(
        reverse("partners:subscription_review", args=[bakery.pk]), {"accept_terms": "on"}
    )
    subscription = Subscription.objects.get(customer=bakery)
    assert subscription.status == Subscription.Status.SCHEDULED
    assert subscription.anchor_date == date(2026, 3, 1)


def test_the_review_without_a_purchase_in_progress_sends_back_to_the_form(partner_client, bakery):
    response = partner_client.get(reverse("partners:subscription_review", args=[bakery.pk]))
    assert response.status_code == 302
    assert response.url == reverse("partners:subscription_new", args=[bakery.pk])


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"seats_gateway": "-3"}, "Ensure this value is greater than or equal to 0."),
        ({"start_date": "01/13/2026"}, "Enter the date as YYYY-MM-DD, e.g. 2026-01-01."),
        ({"start_date": "2026-02-30"}, "Enter the date as YYYY-MM-DD, e.g. 2026-01-01."),
        ({"po_reference": "P" * 36}, "Ensure this value has at most 35 characters (it has 36)."),
        (
            {"seats_gateway": "8"},
            "has 10 Gateway devices deployed and would hold",
        ),
        ({"seats_gateway": "0"}, "Choose at least one seat."),
        (
            {"service_period_years": "2"},
            "Select a valid choice. 2 is not one of the available choices.",
        ),
        ({"seats_gateway": "ten"}, "Enter a whole number."),
    ],
)
@pytest.mark.parametrize("action", ["estimate", "review"])
def test_a_bad_purchase_is_refused_in_the_page_and_nothing_is_saved(
    partner_client, bakery, on, overrides, message, action
):
    on(date(2026, 1, 1))
    url = reverse("partners:subscription_new", args=[bakery.pk])
    response = partner_client.post(url, builders.purchase_data(action=action, **overrides))
    assert response.status_code == 200
    assert message in text(response)
    assert 'class="errorlist' in text(response)
    assert not Subscription.objects.exists()
    assert f"partners:purchase:{bakery.pk}" not in partner_client.session


# Adding seats ------------------------------------------------------------------------------------


def test_adding_seats_reviews_the_prorated_cost_of_rules_example_6_2(partner_client, bakery, on):
    subscription = builders.sell_seats(bakery)
    on(date(2026, 2, 15))
    url = reverse("partners:seats_add", args=[bakery.pk])
    form = text(partner_client.get(url))
    assert 'type="hidden" name="subscription"' in form  # one subscription: nothing to choose
    gateway = SeatType.objects.get(code="gateway")

    response = partner_client.post(
        url, {"subscription": subscription.pk, "seat_type": gateway.pk, "quantity": "4"}
    )
    review_url = reverse("partners:seats_add_review", args=[bakery.pk])
    assert response.status_code == 302 and response.url == review_url
    review = text(partner_client.get(review_url))
    assert 'data-amount="net">21.60 EUR' in review
    assert 'data-amount="tax">4.32 EUR' in review
    assert 'data-amount="total">25.92 EUR' in review
    assert "2026-04-01" in review and "181.44 EUR" in review  # billing dates unchanged
    assert not subscription.events.filter(kind=SubscriptionEvent.Kind.SEATS_ADDED).exists()

    assert "Accept the terms" in text(partner_client.post(review_url, {}))
    assert not subscription.events.filter(kind=SubscriptionEvent.Kind.SEATS_ADDED).exists()

    done = partner_client.post(review_url, {"accept_terms": "on"})
    assert done.status_code == 302
    subscription.refresh_from_db()
    assert subscription.seats.get().quantity == 14
    assert subscription.anchor_date == date(2026, 1, 1)
    assert subscription.events.filter(kind=SubscriptionEvent.Kind.SEATS_ADDED).count() == 1
    # the confirmation names the total the review showed, tax included (not the net 21.60)
    confirmed = text(partner_client.get(done.url))
    assert "4 Gateway seat(s) added: 25.92 EUR now for 2026-02-15 to 2026-04-01" in confirmed


def test_with_several_subscriptions_the_partner_chooses_which_gets_the_seats(
    partner_client, bakery, on
):
    first = builders.sell_seats(bakery, po_reference="PO-A")
    second = builders.sell_seats(bakery, po_reference="PO-B", years=1)
    on(date(2026, 2, 15))
    url = reverse("partners:seats_add", args=[bakery.pk])
    form = text(partner_client.get(url))
    assert (
        f"#{first.pk} Device seats — PO-A" in form and f"#{second.pk} Device seats — PO-B" in form
    )
    gateway = SeatType.objects.get(code="gateway")
    refused = partner_client.post(url, {"seat_type": gateway.pk, "quantity": "4"})
    assert "This field is required." in text(refused)
    response = partner_client.post(
        url, {"subscription": second.pk, "seat_type": gateway.pk, "quantity": "2"}
    )
    assert response.status_code == 302
    partner_client.post(response.url, {"accept_terms": "on"})
    assert second.seats.get().quantity == 12 and first.seats.get().quantity == 10


@pytest.mark.parametrize("quantity", ["0", "-4", "4.5"])
def test_adding_no_seats_is_refused(partner_client, bakery, on, quantity):
    subscription = builders.sell_seats(bakery)
    on(date(2026, 2, 15))
    gateway = SeatType.objects.get(code="gateway")
    response = partner_client.post(
        reverse("partners:seats_add", args=[bakery.pk]),
        {"subscription": subscription.pk, "seat_type": gateway.pk, "quantity": quantity},
    )
    assert response.status_code == 200 and 'class="errorlist' in text(response)
    assert subscription.seats.get().quantity == 10


def test_a_customer_without_subscription_has_no_seats_to_add(partner_client, bakery):
    response = partner_client.get(reverse("partners:seats_add", args=[bakery.pk]), follow=True)
    assert "has no subscription to add seats to" in text(response)


# The PO reference --------------------------------------------------------------------------------


def test_the_po_reference_changes_at_any_time_and_appears_on_the_next_invoices(
    partner_client, bakery, on
):
    subscription = builders.sell_seats(bakery, po_reference="PO-OLD")
    builders.bill(date(2026, 1, 1))
    on(date(2026, 2, 10))
    url = reverse("partners:po_reference", args=[subscription.pk])
    assert 'value="PO-OLD"' in text(partner_client.get(url))

    too_long = partner_client.post(url, {"po_reference": "X" * 36})
    assert "Ensure this value has at most 35 characters (it has 36)." in text(too_long)
    subscription.refresh_from_db()
    assert subscription.po_reference == "PO-OLD"

    done = partner_client.post(url, {"po_reference": "PO-NEW-2026"})
    assert done.status_code == 302
    subscription.refresh_from_db()
    assert subscription.po_reference == "PO-NEW-2026"
    builders.bill(date(2026, 4, 1))
    first, second = Invoice.objects.filter(subscription=subscription).order_by("issue_date")
    assert (first.po_reference, second.po_reference) == ("PO-OLD", "PO-NEW-2026")


# Seat reductions and cancellations ---------------------------------------------------------------


def test_a_seat_reduction_is_explained_then_scheduled_for_the_renewal(partner_client, bakery, on):
    # billing-rules example 5.2: a yearly subscription from 2026-01-01, freeze 3 months
    subscription = builders.sell_seats(bakery, seats=12, years=1)
    on(date(2026, 9, 30))
    url = reverse("partners:seats_reduce", args=[subscription.pk])
    page = text(partner_client.get(url))
    assert "Renewal date: 2027-01-01." in page
    assert "Seats cannot be reduced within 3 months before the renewal date" in page
    assert "without refund or credit" in page
    gateway = SeatType.objects.get(code="gateway")

    preview = text(
        partner_client.post(url, {"seat_type": gateway.pk, "quantity": "10", "action": "preview"})
    )
    assert 'id="effective-date"><strong>2027-01-01' in preview
    assert "go down to 10 at the renewal on 2027-01-01; no refund or credit before" in preview
    assert not subscription.events.filter(kind=SubscriptionEvent.Kind.SEATS_REDUCED).exists()

    done = partner_client.post(
        url, {"seat_type": gateway.pk, "quantity": "10", "action": "confirm"}
    )
    assert done.status_code == 302
    seat = subscription.seats.get()
    assert (seat.quantity, seat.scheduled_quantity) == (12, 10)
    page = text(partner_client.get(reverse("partners:customer", args=[bakery.pk])))
    assert "Gateway seats go down to 10 on 2027-01-01." in page


@pytest.mark.parametrize("action", ["preview", "confirm"])
def test_a_reduction_inside_the_freeze_is_refused_with_the_reason(
    partner_client, bakery, on, action
):
    subscription = builders.sell_seats(bakery, seats=12, years=1)
    on(date(2026, 10, 1))
    response = partner_client.post(
        reverse("partners:seats_reduce", args=[subscription.pk]),
        {"seat_type": SeatType.objects.get(code="gateway").pk, "quantity": "10", "action": action},
    )
    assert response.status_code == 200
    assert (
        "Seats cannot be reduced from 2026-10-01, 3 months before the renewal on 2027-01-01."
        in text(response)
    )
    assert not subscription.events.filter(kind=SubscriptionEvent.Kind.SEATS_REDUCED).exists()
    assert subscription.seats.get().scheduled_quantity is None


def test_inside_the_freeze_the_page_says_so_before_offering_the_form(partner_client, bakery, on):
    # billing-rules example 5.2: the freeze starts on 2026-10-01, three months before the renewal
    subscription = builders.sell_seats(bakery, seats=12, years=1)
    url = reverse("partners:seats_reduce", args=[subscription.pk])
    on(date(2026, 9, 30))
    before = text(partner_client.get(url))
    assert 'id="reduce-form"' in before and 'id="frozen"' not in before

    on(date(2026, 10, 1))
    page = text(partner_client.get(url))
    assert 'id="frozen"' in page
    assert (
        "Seats cannot be reduced from 2026-10-01, 3 months before the renewal on 2027-01-01."
        in page
    )
    assert 'id="reduce-form"' not in page and "Review the request" not in page
    assert "Seats today" in page and "12 × Gateway" in page  # the rest is still shown


def test_a_reduction_below_the_devices_deployed_is_refused(partner_client, bakery, on):
    subscription = builders.sell_seats(bakery, seats=12, years=1)
    on(date(2026, 6, 1))
    response = partner_client.post(
        reverse("partners:seats_reduce", args=[subscription.pk]),
        {
            "seat_type": SeatType.objects.get(code="gateway").pk,
            "quantity": "9",
            "action": "preview",
        },
    )
    assert "seats cannot fall below the devices" in text(response)
    assert not subscription.events.filter(kind=SubscriptionEvent.Kind.SEATS_REDUCED).exists()


@pytest.mark.parametrize(
    ("day", "effective"),
    # billing-rules example 5.1
    [(date(2026, 10, 3), "2027-01-01"), (date(2026, 10, 4), "2028-01-01")],
)
def test_a_cancellation_shows_the_notice_rule_before_it_is_confirmed(
    partner_client, bakery, on, day, effective
):
    subscription = builders.sell_seats(bakery, years=1)
    on(day)
    url = reverse("partners:cancel", args=[subscription.pk])
    page = text(partner_client.get(url))
    assert f'id="effective-date"><strong>{effective}' in page
    assert "Notice period: a cancellation must reach us 90 days before the renewal date." in page
    assert "2026-10-03" in page  # the notice deadline, named by the rule
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.ACTIVE

    done = partner_client.post(url)
    assert done.status_code == 302
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.PENDING_CANCELLATION
    assert subscription.end_date.isoformat() == effective


def test_a_cancellation_the_rules_refuse_shows_the_reason_and_no_confirmation(
    partner_client, bakery, on
):
    subscription = builders.sell_seats(bakery, years=1)
    on(date(2026, 5, 1))
    partner_client.post(reverse("partners:cancel", args=[subscription.pk]))
    page = text(partner_client.get(reverse("partners:cancel", args=[subscription.pk])))
    assert "A cancellation is already scheduled for 2027-01-01." in page
    assert "Confirm the cancellation" not in page
    again = partner_client.post(reverse("partners:cancel", args=[subscription.pk]))
    assert again.status_code == 200 and "already scheduled" in text(again)
    assert subscription.events.filter(kind=SubscriptionEvent.Kind.CANCELLATION).count() == 1


# Invoices ----------------------------------------------------------------------------------------


def test_the_partner_sees_its_invoices_and_their_pdfs(partner_client, bakery, nordic, on):
    subscription = builders.sell_seats(bakery)
    other = builders.partner_customer(nordic, "Fjord Logistics", country="NO")
    builders.sell_seats(other, years=1)
    builders.bill(date(2026, 1, 1))
    on(date(2026, 1, 2))
    invoice = Invoice.objects.get(subscription=subscription)
    other_invoice = Invoice.objects.get(end_customer=other)

    page = text(partner_client.get(reverse("partners:invoices")))
    assert invoice.number in page and "129.60 EUR" in page
    assert other_invoice.number not in page

    pdf = partner_client.get(reverse("partners:invoice_pdf", args=[invoice.pk]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert f'filename="{invoice.number}.pdf"' in pdf["Content-Disposition"]
    assert (
        partner_client.get(reverse("partners:invoice_pdf", args=[other_invoice.pk])).status_code
        == 404
    )


# Languages ---------------------------------------------------------------------------------------


def test_the_portal_speaks_the_language_chosen(partner_client, bakery):
    builders.sell_seats(bakery)
    partner_client.post(reverse("set_language"), {"language": "fr", "next": "/partners/"})
    page = text(partner_client.get(reverse("partners:customer", args=[bakery.pk])))
    assert '<html lang="fr">' in page
    assert "Licences d&#x27;équipements" in page  # the plan's French name
    refused = partner_client.post(reverse("partners:subscription_new", args=[bakery.pk]), {})
    assert "Ce champ est obligatoire." in text(refused)  # Django's own messages


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
    before = snapshot()

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
    assert snapshot() == before
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
    # Given the gateways installed since 2026-01-01, sold on 2026-05-10 (billing-rules example 6.1)
    on(date(2026, 5, 10))
    url = reverse("partners:subscription_new", args=[bakery.pk])
    review_url = reverse("partners:subscription_review", args=[bakery.pk])

    # When the partner asks for the review: the first period is the one of the start
    response = partner_client.post(
        url, builders.purchase_data(start_date="2026-01-01", action="review")
    )
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
        builders.purchase_data(start_date="2026-01-01"),
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
        partner_client.post(
            reverse("partners:subscription_new", args=[bakery.pk]), builders.purchase_data()
        )
    )
    assert "billed once fulfilled" in estimate
    assert 'data-amount="total">129.60 EUR' in estimate  # billing-rules example 6.1
    partner_client.post(
        reverse("partners:subscription_new", args=[bakery.pk]),
        builders.purchase_data(action="review"),
    )
    review = text(partner_client.get(reverse("partners:subscription_review", args=[bakery.pk])))
    assert "billed once fulfilled" in review
    assert 'data-amount="total">129.60 EUR' in review
    assert "Nothing is invoiced before the subscription is fulfilled." not in review
