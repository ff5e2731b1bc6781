"""The price book's memo (charges, lines and invoices priced once for many subscriptions) gives
what pricing each subscription on its own gives, whatever the mix of subscriptions."""

from datetime import date
from decimal import Decimal

import pytest
from django.utils import translation
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from billing.services.chunk_io import row_values
from billing.services.documents import billing_key, build_invoice
from catalog.models import Plan, SeatType
from subscriptions import services
from subscriptions.charges import PriceBook, context_of, contexts_for, due_charges
from tests.subscriptions.factories import CustomerFactory

pytestmark = pytest.mark.django_db
DAY = date(2026, 6, 1)

# A small space, so that subscriptions often share a plan, a start and a language and differ
# by little (seats, a discount): where a key missing a value would hand one the other's price.
specs = st.fixed_dictionaries(
    {
        "plan": st.sampled_from(["office-24m", "device-seats", "hosting-a"]),
        "gateways": st.sampled_from([1, 2, 5]),
        "start": st.sampled_from([date(2026, 1, 1), date(2026, 1, 31)]),
        "discount": st.sampled_from([None, Decimal("5"), Decimal("20")]),
        "locale": st.sampled_from(["en", "fr"]),
    }
)


def _spec(plan="office-24m", gateways=1, discount=None, locale="en", start=date(2026, 1, 1)):
    return {
        "plan": plan,
        "gateways": gateways,
        "start": start,
        "discount": discount,
        "locale": locale,
    }


def _create(spec):
    plan = Plan.objects.get(code=spec["plan"])
    seats = {SeatType.objects.get(code="gateway"): spec["gateways"]}
    return services.subscription_create(
        customer=CustomerFactory(locale=spec["locale"]),
        plan=plan,
        start_date=spec["start"],
        today=spec["start"],
        seats=seats if spec["plan"] == "device-seats" else None,
        partner_discount_percent=spec["discount"],
        partner_discount_label="Partner" if spec["discount"] else "",
    ).subscription


def _priced(subscription, context):
    """The charges due on DAY and their invoices, as the run prices them."""
    book = context.book
    with translation.override(subscription.billed_customer.locale):
        context.language = translation.get_language()
        charges = due_charges(context, up_to=DAY)
        by_key = {}
        for charge in charges:
            by_key.setdefault(billing_key(charge), []).append(charge)
        invoices = []
        for _key, group in sorted(by_key.items()):
            document = build_invoice(subscription, group, memo=book.memo)
            invoice = row_values(document.invoice)
            invoices.append(
                (
                    invoice,
                    [row_values(line) for line in document.lines],
                    [row_values(tax) for tax in document.taxes],
                )
            )
    return charges, invoices


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(specs, min_size=2, max_size=6))
# The differences a key must name, each at least once.
@example([_spec(), _spec(discount=Decimal("20"))])
@example([_spec(locale="fr"), _spec(locale="en")])
@example([_spec(plan="device-seats", gateways=2), _spec(plan="device-seats", gateways=5)])
@example([_spec(discount=Decimal("5")), _spec(discount=Decimal("20"))])
def test_memoized_pricing_is_pricing_one_subscription_at_a_time(demo_catalog, specs):
    subscriptions = []
    for spec in specs:
        try:
            subscriptions.append(_create(spec))
        except Exception as error:  # a combination the catalog refuses: not this test's subject
            if type(error).__name__ != "ApplicationError":
                raise
    # Together: loaded at once and priced with one book, as the run does; alone: each loaded
    # and priced with a book of its own.
    contexts = contexts_for(subscriptions, book=PriceBook.load_all())
    together = [_priced(s, contexts[s.pk]) for s in subscriptions]
    alone = [_priced(s, context_of(s, book=PriceBook.load_all())) for s in subscriptions]
    assert together == alone
