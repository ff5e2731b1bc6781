"""The admin's lists of big tables never read the whole table to build their sidebar (issue 19).

Django's date hierarchy asks for MIN/MAX of the date, then its DISTINCT days; a filter on a
column without choices runs SELECT DISTINCT over every row. At a million invoice lines each
reads the whole table on every page view. The filters of catalog.admin_filters take their
options from the code; these tests check that no such query is left, that a page's queries do
not grow with its rows, and that the filters still filter.
"""

from datetime import date

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.models import Invoice, InvoiceLine
from billing.services import billing_run, invoice_cancel_by_credit_note
from catalog.models import Product, TaxRate, Term
from subscriptions.models import Customer, Subscription
from tests.subscriptions.factories import CustomerFactory
from tests.support.queries import add_subscriptions

pytestmark = pytest.mark.django_db

# Each list of a big table, and the most queries its page may make as a superuser (session,
# user, the sidebar's reads of small tables, the size estimate or count, the page's rows).
BIG_LISTS = {
    "admin:billing_invoice_changelist": 7,
    "admin:billing_invoiceline_changelist": 9,
    "admin:billing_payment_changelist": 6,
    "admin:subscriptions_subscription_changelist": 8,
    "admin:subscriptions_customer_changelist": 7,
}
# Lists of tables that grow with time, checked for the same scans (they start empty here).
GROWING_LISTS = [
    "admin:subscriptions_usageevent_changelist",
    "admin:billing_einvoice_changelist",
    "admin:payments_cardpayment_changelist",
    "admin:payments_gatewayevent_changelist",
    "admin:payments_bankstatemententry_changelist",
    "admin:payments_dunningstep_changelist",
    "admin:integrations_webhookdelivery_changelist",
    "admin:storefront_signup_changelist",
]
SCANS = ("MIN(", "MAX(", "DISTINCT")
MONTHS = "January February March April May June July August September October November December"


@pytest.fixture
def superuser_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@example.com", "x")
    client.force_login(user)
    return client


def page_queries(client, path: str, **params) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, params)
    assert response.status_code == 200
    return [query["sql"] for query in captured.captured_queries]


def scans(queries: list[str]) -> list[str]:
    return [sql for sql in queries if any(word in sql.upper() for word in SCANS)]


@pytest.mark.parametrize("name", BIG_LISTS)
def test_a_big_list_reads_no_aggregate_and_the_same_queries_for_2_or_20_rows(
    superuser_client, demo_catalog, name
):
    path = reverse(name)
    add_subscriptions(2)
    few = page_queries(superuser_client, path)
    add_subscriptions(18)
    many = page_queries(superuser_client, path)

    assert Customer.objects.count() >= 20
    assert InvoiceLine.objects.count() >= 20
    assert scans(few) == [] and scans(many) == []
    assert len(many) == len(few) <= BIG_LISTS[name]


@pytest.mark.parametrize("name", GROWING_LISTS)
def test_a_growing_list_reads_no_aggregate(superuser_client, demo_catalog, name):
    assert scans(page_queries(superuser_client, reverse(name))) == []


# The filters still filter ------------------------------------------------------------------------

INVOICES = reverse("admin:billing_invoice_changelist")


@pytest.fixture
def three_months(office):
    """Atelier Dupont's monthly invoices of January, February and March 2026, one run each."""
    for month in (1, 2, 3):
        billing_run(day=date(2026, month, 1))
    invoices = Invoice.objects.filter(customer=office.customer).order_by("issue_date")
    assert [i.issue_date.month for i in invoices] == [1, 2, 3]
    return list(invoices)


def shown(response) -> set[int]:
    return {row.pk for row in response.context["cl"].result_list}


def options(response, title_part: str) -> list[str]:
    changelist = response.context["cl"]
    [spec] = [s for s in changelist.filter_specs if title_part in str(s.title)]
    return [str(choice["display"]) for choice in spec.choices(changelist)]


def test_invoices_by_year_and_month_of_issue(superuser_client, three_months):
    january, february, march = three_months

    by_month = superuser_client.get(INVOICES, {"issue_date__year": 2026, "issue_date__month": 2})
    by_year = superuser_client.get(INVOICES, {"issue_date__year": 2026})
    other_year = superuser_client.get(INVOICES, {"issue_date__year": 2025})

    assert shown(by_month) == {february.pk}
    assert shown(by_year) == {january.pk, february.pk, march.pk}
    assert shown(other_year) == set()


@time_machine.travel(date(2026, 6, 15))
def test_the_years_offered_come_from_today_and_a_chosen_year_offers_its_months(
    superuser_client, three_months
):
    unfiltered = options(superuser_client.get(INVOICES), "year and month")
    chosen = options(superuser_client.get(INVOICES, {"issue_date__year": 2026}), "year and month")

    assert unfiltered == ["All", *(str(year) for year in range(2026, 2015, -1))]
    assert chosen[1:12] == unfiltered[1:]
    assert chosen[12:] == [f"{month} 2026" for month in MONTHS.split()]


@time_machine.travel(date(2026, 6, 15))
def test_renewals_are_offered_by_the_years_ahead(superuser_client, three_months):
    page = superuser_client.get(reverse("admin:subscriptions_subscription_changelist"))
    assert options(page, "year and month") == ["All", *(str(y) for y in range(2031, 2023, -1))]

    renewing = Subscription.objects.get(pk=three_months[0].subscription_id).renewal_date
    filtered = superuser_client.get(
        reverse("admin:subscriptions_subscription_changelist"),
        {"renewal_date__year": renewing.year, "renewal_date__month": renewing.month},
    )
    assert shown(filtered) == {three_months[0].subscription_id}


@pytest.mark.parametrize("year", ["twenty", "9999", "0"])
def test_a_year_out_of_range_is_refused_not_an_error(superuser_client, three_months, year):
    response = superuser_client.get(INVOICES, {"issue_date__year": year})
    assert response.status_code == 302
    assert response["Location"].endswith("?e=1")


def test_invoices_by_series(superuser_client, three_months):
    january = three_months[0]
    credit_note = invoice_cancel_by_credit_note(
        invoice=january, reason="Wrong PO reference", day=date(2026, 3, 5)
    )

    credit_notes = superuser_client.get(INVOICES, {"series__exact": "AV"})
    invoices = superuser_client.get(INVOICES, {"series__exact": "F"})

    assert shown(credit_notes) == {credit_note.pk}
    assert shown(invoices) == {i.pk for i in three_months}
    assert options(invoices, "series") == ["All", "F", "AV"]


def test_invoice_lines_by_ledger_account_and_tax_rate(superuser_client, three_months):
    lines = reverse("admin:billing_invoiceline_changelist")
    line = InvoiceLine.objects.filter(invoice=three_months[0]).first()
    page = superuser_client.get(lines)

    by_rate = superuser_client.get(lines, {"tax_rate__exact": f"{line.tax_rate.normalize():f}"})

    assert shown(by_rate) == set(
        InvoiceLine.objects.filter(tax_rate=line.tax_rate).values_list("pk", flat=True)
    )
    rates = {f"{r.normalize():f} %" for r in TaxRate.objects.values_list("rate", flat=True)}
    assert rates <= set(options(page, "tax rate"))
    accounts = set(
        Product.objects.exclude(ledger_account="").values_list("ledger_account", flat=True)
    )
    accounts |= set(
        Term.objects.exclude(ledger_account="").values_list("ledger_account", flat=True)
    )
    assert options(page, "ledger account") == ["All", *sorted(accounts)]
    if line.ledger_account:
        by_account = superuser_client.get(lines, {"ledger_account__exact": line.ledger_account})
        assert line.pk in shown(by_account)


def test_customers_by_country(superuser_client, demo_catalog):
    french, belgian = CustomerFactory(country="FR"), CustomerFactory(country="BE")
    customers = reverse("admin:subscriptions_customer_changelist")

    response = superuser_client.get(customers, {"country__exact": "BE"})

    assert shown(response) == {belgian.pk}
    assert french.pk not in shown(response)
    offered = options(response, "country")
    assert "Belgium (BE)" in offered and "France (FR)" in offered
    assert len(offered) > 200  # every ISO country, whether a customer has it or not


def test_the_counts_shown_on_request_count_each_option(superuser_client, three_months):
    # "Show counts" (Django's facets) counts the rows of each option of the filtered list.
    page = superuser_client.get(INVOICES, {"_facets": "True", "issue_date__year": 2026})

    assert "F (3)" in options(page, "series")
    assert "AV (0)" in options(page, "series")
    months = options(page, "year and month")
    assert "February 2026 (1)" in months and "June 2026 (0)" in months
