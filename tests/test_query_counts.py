"""The admin's big lists make a fixed number of queries, whatever the number of rows
(performance itself is measured by `make bench`, not by timed tests)."""

import pytest
from django.urls import reverse

from subscriptions.models import Customer
from tests.support.queries import add_subscriptions, queries_for

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "name",
    [
        "admin:subscriptions_subscription_changelist",
        "admin:subscriptions_customer_changelist",
        "admin:billing_invoice_changelist",
        "admin:billing_invoiceline_changelist",
    ],
)
def test_admin_lists_make_a_fixed_number_of_queries(
    operator_client, demo_catalog, django_assert_max_num_queries, name
):
    path = reverse(name)
    add_subscriptions(2)
    few = queries_for(operator_client, django_assert_max_num_queries, path)
    add_subscriptions(18)
    many = queries_for(operator_client, django_assert_max_num_queries, path)
    assert Customer.objects.count() >= 20
    assert many == few
