"""The invoice list filtered by customer: one customer's invoices, without listing every
customer in the sidebar."""

from datetime import date

import pytest
from django.urls import reverse

from billing.admin import InvoiceCustomerFilter
from billing.models import Invoice
from billing.services import billing_run
from tests.support.queries import add_subscriptions, queries_for

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:billing_invoice_changelist")


@pytest.fixture
def invoiced(office, seats):
    """Atelier Dupont (office, monthly) and Boulangerie Martin (seats, quarterly) to April."""
    billing_run(day=date(2026, 4, 1))
    return office.customer, seats.customer


def customer_filters(changelist) -> list:
    return [s for s in changelist.filter_specs if isinstance(s, InvoiceCustomerFilter)]


def test_filtering_by_a_customer_lists_only_its_invoices(operator_client, invoiced):
    dupont, martin = invoiced
    assert Invoice.objects.filter(customer=dupont).count() == 4  # January to April
    assert Invoice.objects.filter(customer=martin).count() == 2  # two quarters

    response = operator_client.get(CHANGELIST, {"customer__id__exact": martin.pk})

    assert response.status_code == 200
    changelist = response.context["cl"]
    shown = list(changelist.result_list)
    assert sorted(i.pk for i in shown) == sorted(
        Invoice.objects.filter(customer=martin).values_list("pk", flat=True)
    )
    assert {i.customer_id for i in shown} == {martin.pk}
    # The sidebar offers the selected customer only (and "All"), not every customer.
    [spec] = customer_filters(changelist)
    choices = list(spec.choices(changelist))
    assert [(c["display"], c["selected"]) for c in choices] == [
        ("All", False),
        ("Boulangerie Martin", True),
    ]
    assert "Atelier Dupont" not in response.content.decode()


def test_the_customer_column_links_to_the_customers_invoices(operator_client, invoiced):
    dupont, _martin = invoiced
    html = operator_client.get(CHANGELIST).content.decode()
    link = f'href="{CHANGELIST}?customer__id__exact={dupont.pk}"'
    assert link in html

    followed = operator_client.get(CHANGELIST, {"customer__id__exact": dupont.pk})

    assert {i.customer_id for i in followed.context["cl"].result_list} == {dupont.pk}
    assert len(followed.context["cl"].result_list) == 4


def test_without_a_customer_selected_the_sidebar_lists_no_customer(operator_client, invoiced):
    changelist = operator_client.get(CHANGELIST).context["cl"]
    assert customer_filters(changelist) == []
    assert len(changelist.result_list) == 6


@pytest.mark.parametrize("value", ["999999", "abc", "-3"])
def test_an_unknown_customer_lists_no_invoice(operator_client, invoiced, value):
    response = operator_client.get(CHANGELIST, {"customer__id__exact": value})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == []


def test_the_filtered_list_makes_a_fixed_number_of_queries(
    operator_client, demo_catalog, django_assert_max_num_queries
):
    add_subscriptions(2)
    customer = Invoice.objects.order_by("id").first().customer
    path = f"{CHANGELIST}?customer__id__exact={customer.pk}"
    few = queries_for(operator_client, django_assert_max_num_queries, path)
    add_subscriptions(18)
    many = queries_for(operator_client, django_assert_max_num_queries, path)
    assert Invoice.objects.values("customer").distinct().count() == 20
    assert many == few
