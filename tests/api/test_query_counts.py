"""Every list endpoint reads a page in a fixed number of queries (at most 12; plans 13): the count
with 2 rows equals the count with 20 rows, for an operator and for a partner."""

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.models import Invoice
from billing.services import billing_run, payment_record
from catalog.models import (
    BillableMetric,
    BundleFeature,
    Feature,
    PlanFeature,
    PriceTier,
    SeatType,
    ServicePeriodOption,
    UpgradeGroup,
    UsageCharge,
)
from partners.models import Partner, PartnerCustomer, PartnerUser
from payments import services as payments_services
from subscriptions import services
from subscriptions.models import SubscriptionItem, SubscriptionSeat
from tests.catalog.factories import (
    BundleItemFactory,
    DiscountFactory,
    PriceSheetFactory,
    ProductContractFactory,
    TaxRateFactory,
    TermFactory,
)
from tests.subscriptions.factories import CustomerFactory, monthly_plan
from tests.support.api import token_client

pytestmark = pytest.mark.django_db
MAX_QUERIES = 12
# A plan shows the most: its bundles with their items, tiers and add-on features, its add-ons,
# features, service periods and usage charges (the tiers of items and charges in one query).
MAX_QUERIES_OF = {"plans": 13}
START = date(2026, 1, 1)


class World:
    """Rows of every kind, added `n` at a time, all related to what a list shows."""

    def __init__(self):
        self.vat = TaxRateFactory()
        self.group = UpgradeGroup.objects.create(code="group", name="Group")
        self.feature = Feature.objects.create(code="storage", name="Storage", kind="limit")
        self.partner = Partner.objects.create(code="acme", name="Acme", email="a@acme.example")
        self.plan = monthly_plan("30.00", term=TermFactory(tax_rate=self.vat))
        self.made = 0
        user = get_user_model().objects.create_user("acme-user", password="x-long-password-1")
        PartnerUser.objects.create(partner=self.partner, user=user)
        self.partner_user = user

    def plans(self, n):
        for _ in range(n):
            self.made += 1
            term = TermFactory(renewal_term=TermFactory(), tax_rate=self.vat)
            plan = monthly_plan(
                "10.00", term=term, upgrade_group=self.group, upgrade_rank=self.made
            )
            tiered = BundleItemFactory(
                bundle=plan.bundles.first(),
                price_sheet__pricing_model="graduated",
                price_sheet__amount=None,
            )
            PriceTier.objects.create(
                price_sheet=tiered.price_sheet, first_unit=1, unit_price=Decimal("5")
            )
            BundleItemFactory(
                bundle=plan.bundles.first(),
                kind="discount",
                product=None,
                price_sheet=None,
                discount=DiscountFactory(),
            )
            plan.addon_bundles.add(BundleItemFactory().bundle)
            PlanFeature.objects.create(plan=plan, feature=self.feature, limit=10)
            ServicePeriodOption.objects.create(plan=plan, years=1)
            metric = self._metric()
            metered = PriceSheetFactory(pricing_model="graduated", amount=None)
            PriceTier.objects.create(price_sheet=metered, first_unit=1, unit_price=Decimal("1"))
            UsageCharge.objects.create(plan=plan, metric=metric, price_sheet=metered)
            counted = Feature.objects.create(
                code=f"counted-{self.made}", name="Counted", kind="limit", metric=metric
            )
            PlanFeature.objects.create(plan=plan, feature=counted, limit=5)
            plan.contract = ProductContractFactory(kind="credit", credit_amount=Decimal("5"))
            plan.save()

    def _metric(self) -> BillableMetric:
        self.made += 1
        return BillableMetric.objects.create(
            code=f"metric-{self.made}", name="Metric", event_code="api_call"
        )

    def billable_metrics(self, n):
        for _ in range(n):
            self._metric()

    def bundles(self, n):
        for _ in range(n):
            item = BundleItemFactory(bundle__term=TermFactory())
            BundleItemFactory(bundle=item.bundle, product__seat_type=None)
            item.bundle.contract = ProductContractFactory(kind="credit", credit_amount=Decimal("5"))
            item.bundle.save()
            feature = Feature.objects.create(
                code=f"addon-{item.bundle.pk}", name="Add-on", kind="limit", metric=self._metric()
            )
            BundleFeature.objects.create(bundle=item.bundle, feature=feature, limit=5)

    def terms(self, n):
        for _ in range(n):
            TermFactory(renewal_term=TermFactory(), tax_rate=self.vat)

    def product_contracts(self, n):
        for _ in range(n):
            sheet = PriceSheetFactory(pricing_model="volume", amount=None)
            PriceTier.objects.create(price_sheet=sheet, first_unit=1, unit_price=Decimal("2"))
            ProductContractFactory(
                kind="credit",
                credit_amount=Decimal("20"),
                product=sheet.product,
                price_sheet=sheet,
            )

    def partners(self, n):
        for i in range(n):
            Partner.objects.create(code=f"p{self.made}-{i}", name=f"P{i}", email="p@p.example")
        self.made += 1

    def customers(self, n):
        for _ in range(n):
            customer = CustomerFactory()
            PartnerCustomer.objects.create(partner=self.partner, customer=customer)

    def subscriptions(self, n):
        for _ in range(n):
            customer = CustomerFactory()
            PartnerCustomer.objects.create(partner=self.partner, customer=customer)
            subscription = services.subscription_create(
                customer=customer, plan=self.plan, start_date=START, today=START
            ).subscription
            seat = BundleItemFactory(
                product__seat_type=SeatType.objects.create(code=f"seat-{subscription.pk}", name="S")
            )
            SubscriptionSeat.objects.create(
                subscription=subscription, seat_type=seat.product.seat_type, quantity=3
            )
            SubscriptionItem.objects.create(
                subscription=subscription, kind="addon", bundle=seat.bundle, quantity=1
            )

    def invoices(self, n):
        self.subscriptions(n)
        billing_run(day=START, send_emails=False)

    def payment_methods(self, n):
        for _ in range(n):
            payments_services.sepa_mandate_add(
                customer=CustomerFactory(),
                account_holder="Holder",
                iban="FR7630006000011234567890189",
                accepted=True,
                today=START,
            )

    def refunds(self, n):
        self.invoices(n)
        for invoice in Invoice.objects.filter(kind="invoice", status="issued"):
            payment_record(
                invoice=invoice,
                amount=invoice.total.amount,
                method="bank_transfer",
                received_on=START,
            )
            payments_services.refund_create(
                invoice=invoice, amount="1.00", reason="Goodwill", via="credit", day=START
            )

    def card_payments(self, n):
        self.invoices(n)
        declined = payments_services.card_details(
            number="4000000000000002", expiry="12/30", holder="Holder", today=START
        )
        for invoice in Invoice.objects.filter(kind="invoice", status="issued"):
            payments_services.card_payment_create(invoice=invoice, card=declined, day=START)

    def payments(self, n):
        self.invoices(n)
        for invoice in Invoice.objects.filter(kind="invoice", status="issued"):
            payment_record(
                invoice=invoice,
                amount=invoice.total.amount,
                method="bank_transfer",
                received_on=START,
            )


LISTS = {
    "plans": "/api/v1/plans/",
    "bundles": "/api/v1/bundles/",
    "terms": "/api/v1/terms/",
    "product_contracts": "/api/v1/product-contracts/",
    "billable_metrics": "/api/v1/billable-metrics/",
    "partners": "/api/v1/partners/",
    "customers": "/api/v1/customers/",
    "subscriptions": "/api/v1/subscriptions/",
    "invoices": "/api/v1/invoices/",
    "payment_methods": "/api/v1/payment-methods/",
    "refunds": "/api/v1/refunds/",
    "card_payments": "/api/v1/card-payments/",
    "payments": "/api/v1/payments/",
}


def queries(client, url) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(captured.captured_queries), len(response.json()["results"])


@pytest.mark.parametrize("name", list(LISTS))
def test_list_queries_do_not_grow_with_rows(name, operator, django_assert_max_num_queries):
    world = World()
    make = getattr(world, name)
    url = LISTS[name]
    operator_client = token_client(operator)
    partner_client = token_client(world.partner_user)
    make(2)
    few, few_rows = queries(operator_client, url)
    partner_few, _rows = queries(partner_client, url)
    make(18)
    many, many_rows = queries(operator_client, url)
    partner_many, _rows = queries(partner_client, url)
    assert many_rows >= few_rows + 18, "the page shows the new rows"
    assert many == few, f"{name}: {few} queries for {few_rows} rows, {many} for {many_rows}"
    assert partner_many == partner_few
    with django_assert_max_num_queries(MAX_QUERIES_OF.get(name, MAX_QUERIES)):
        operator_client.get(url)
    with django_assert_max_num_queries(MAX_QUERIES_OF.get(name, MAX_QUERIES)):
        partner_client.get(url)
