"""The reports section's pages: filters, figures, CSV downloads, and who may see them."""

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from catalog.models import Plan
from partners.models import Partner
from subscriptions.models import Subscription
from tests.partners import builders
from tests.reports.builders import figures_of_2026

D = Decimal
TODAY = date(2026, 4, 20)


def report(slug: str) -> str:
    return reverse("reports:report", args=[slug])


@pytest.fixture
def on_today():
    with time_machine.travel(builders.at(TODAY), tick=False):
        yield


@pytest.fixture
def documents(demo_catalog, on_today):
    return figures_of_2026()


def table_rows(response) -> list[dict]:
    return list(response.context["result"].tables[0].rows)


def csv_text(response) -> str:
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return b"".join(response.streaming_content).decode()


# Figures ---------------------------------------------------------------------------------------


def test_invoicing_lists_each_month_of_each_currency(operator_client, documents):
    response = operator_client.get(report("invoicing"), {"start": "2026-01", "end": "2026-04"})

    assert response.status_code == 200
    rows = {(r["currency"], r["month"]): r for r in table_rows(response)}
    assert len(rows) == 8  # 4 months × 2 currencies, empty months included
    assert rows["EUR", date(2026, 1, 1)]["invoiced"] == D("100.00")
    assert rows["EUR", date(2026, 3, 1)]["invoiced"] == D("290.00")
    assert rows["EUR", date(2026, 3, 1)]["invoices"] == 2
    assert rows["EUR", date(2026, 4, 1)]["credited"] == D("40.00")
    assert rows["EUR", date(2026, 4, 1)]["net"] == D("-40.00")
    assert rows["CAD", date(2026, 3, 1)]["net"] == D("300.00")
    # Two currencies: no total adding them up; one chart each.
    assert response.context["result"].tables[0].footer is None
    assert response.content.count(b'class="chart"') == 2


def test_one_currency_has_its_totals_and_is_written_in_the_page_language(
    operator_client, documents
):
    query = {"start": "2026-01", "end": "2026-04", "currency": "EUR"}
    response = operator_client.get(report("invoicing"), query, HTTP_ACCEPT_LANGUAGE="fr")

    footer = response.context["result"].tables[0].footer
    assert (footer["invoiced"], footer["credited"], footer["net"]) == (
        D("390.00"),
        D("40.00"),
        D("350.00"),
    )
    page = response.content.decode()
    assert "390,00\xa0€" in page and "-40,00\xa0€" in page
    assert "avril 2026" in page
    assert "CAD" not in page.split('class="report-table"')[1]


def test_the_csv_keeps_the_filters_and_writes_for_machines(operator_client, documents):
    query = {"start": "2026-03", "end": "2026-04", "currency": "EUR"}
    page = operator_client.get(report("invoicing"), query)
    assert 'href="?start=2026-03&amp;end=2026-04&amp;currency=EUR&amp;format=csv&amp;table=0"' in (
        page.content.decode()
    )

    response = operator_client.get(report("invoicing"), {**query, "format": "csv", "table": "0"})

    assert response["Content-Disposition"] == (
        'attachment; filename="invoicing_2026-03_2026-04.csv"'
    )
    assert csv_text(response).splitlines() == [
        "month,currency,invoices,invoiced,credit_notes,credited,net",
        "2026-03,EUR,2,290.00,0,0.00,290.00",
        "2026-04,EUR,0,0.00,1,40.00,-40.00",
    ]


def test_a_table_that_does_not_exist_is_not_found(operator_client, documents):
    for table in ("1", "-7", "x"):
        response = operator_client.get(report("invoicing"), {"format": "csv", "table": table})
        assert response.status_code == 404


def test_receivables_are_what_was_billed_less_credits_and_payments(operator_client, documents):
    response = operator_client.get(
        report("receivables"), {"start": "2026-01", "end": "2026-04", "currency": "EUR"}
    )

    owed = {r["month"]: r["receivable"] for r in table_rows(response)}
    # January 120.00 billed; paid in February; March 300.00 + 48.00; April the 48.00 credited.
    assert owed == {
        date(2026, 1, 1): D("120.00"),
        date(2026, 2, 1): D("0.00"),
        date(2026, 3, 1): D("348.00"),
        date(2026, 4, 1): D("300.00"),
    }


def test_a_window_after_the_invoices_still_owes_them(operator_client, documents):
    response = operator_client.get(
        report("receivables"), {"start": "2026-04", "end": "2026-04", "currency": "CAD"}
    )

    assert [r["receivable"] for r in table_rows(response)] == [D("360.00")]


def test_plan_and_partner_choose_the_invoices(operator_client, demo_catalog):
    with time_machine.travel(builders.at(date(2026, 1, 1)), tick=False):
        acme = builders.partner("acme", "Acme Resellers", "20.00", "paul")
        builders.sell_seats(builders.partner_customer(acme, "Boulangerie Martin"))
        builders.subscribe(
            builders.self_service_customer("Atelier Dupont", "denis", currency="EUR"),
            "office-24m",
            date(2026, 1, 1),
        )
        builders.bill(date(2026, 1, 1))
    query = {"start": "2026-01", "end": "2026-01"}

    everything = operator_client.get(report("invoicing"), query)
    by_partner = operator_client.get(report("invoicing"), {**query, "partner": acme.pk})
    by_plan = operator_client.get(
        report("invoicing"), {**query, "plan": Plan.objects.get(code="office-24m").pk}
    )

    assert table_rows(everything)[0]["invoiced"] == D("153.00")
    assert table_rows(by_partner)[0]["invoiced"] == D("108.00")  # billing-rules example 6.1
    assert table_rows(by_plan)[0]["invoiced"] == D("45.00")


def test_active_subscriptions_count_each_plan_at_each_month_end(operator_client, demo_catalog):
    with time_machine.travel(builders.at(date(2026, 1, 10)), tick=False):
        maple = builders.self_service_customer("Maple Hosting Co.", "mary")
        ended = builders.subscribe(maple, "hosting-a", date(2026, 1, 10))
        builders.subscribe(
            builders.self_service_customer("Other Hosting", "olga"), "hosting-a", date(2026, 2, 1)
        )
        builders.subscribe(
            builders.self_service_customer("Third Hosting", "tom"), "hosting-b", date(2026, 1, 31)
        )
    # Maple's Hosting A ended on 31 March: still live on 28 February, no longer on 31 March.
    Subscription.objects.filter(pk=ended.pk).update(
        end_date=date(2026, 3, 31), status=Subscription.Status.ENDED
    )

    response = operator_client.get(
        report("active-subscriptions"), {"start": "2026-01", "end": "2026-04"}
    )

    rows = table_rows(response)
    assert [(r["hosting-a"], r["hosting-b"], r["total"]) for r in rows] == [
        (1, 1, 2),  # 31 January: Maple, and Hosting B started that day
        (2, 1, 3),
        (1, 1, 2),  # 31 March: Maple's ended that very day
        (1, 1, 2),
    ]
    assert [r["day"] for r in rows][:2] == [date(2026, 1, 31), date(2026, 2, 28)]
    csv_lines = csv_text(
        operator_client.get(
            report("active-subscriptions"),
            {"start": "2026-01", "end": "2026-02", "format": "csv"},
        )
    ).splitlines()
    assert csv_lines == [
        "month,day,hosting-a,hosting-b,total",
        "2026-01,2026-01-31,1,1,2",
        "2026-02,2026-02-28,2,1,3",
    ]


def test_without_filters_a_report_shows_the_last_twelve_months(operator_client, documents):
    response = operator_client.get(report("invoicing"))

    form = response.context["form"]
    assert form.cleaned_data["start"] == date(2025, 5, 1)
    assert form.cleaned_data["end"] == date(2026, 4, 1)
    assert len(table_rows(response)) == 24  # 12 months × EUR and CAD


def test_no_data_yet_is_said(operator_client, demo_catalog, on_today):
    response = operator_client.get(report("invoicing"))

    assert response.status_code == 200
    assert b"No data yet" in response.content


# Filters ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"start": "1999-12"}, "start", "between 2000-01 and 2100-12"),
        ({"end": "2101-01"}, "end", "between 2000-01 and 2100-12"),
        ({"start": "2026-13"}, "start", "YYYY-MM"),
        ({"start": "soon"}, "start", "YYYY-MM"),
        ({"start": "2026-05", "end": "2026-04"}, "end", "comes after the first"),
        ({"start": "2010-01", "end": "2020-01"}, "end", "at most 120 months"),
        ({"currency": "XYZ"}, "currency", "valid choice"),
        ({"plan": "999999"}, "plan", "valid choice"),
        ({"plan": "abc"}, "plan", "valid choice"),
        ({"partner": "999999"}, "partner", "valid choice"),
        ({"start": ""}, "start", "required"),
    ],
)
def test_bad_filters_are_shown_on_the_page(operator_client, documents, query, field, message):
    for extra in ({}, {"format": "csv"}):  # a download with bad filters shows the page too
        response = operator_client.get(report("invoicing"), {**query, **extra})

        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/html")
        form = response.context["form"]
        assert message in " ".join(form.errors[field])
        assert response.context["result"] is None
        assert b"errorlist" in response.content
        assert b'<svg xmlns="http://www.w3.org/2000/svg" class="chart"' not in response.content


def test_ten_years_at_once_are_allowed(operator_client, documents):
    response = operator_client.get(report("invoicing"), {"start": "2017-01", "end": "2026-12"})

    assert response.context["form"].is_valid()
    assert len(table_rows(response)) == 240


def test_the_currencies_offered_are_those_in_use(operator_client, documents):
    response = operator_client.get(report("invoicing"))

    choices = [value for value, _label in response.context["form"].fields["currency"].choices]
    assert choices == ["", "CAD", "EUR"]


def test_an_unknown_report_is_not_found(operator_client, on_today):
    assert operator_client.get(report("nothing-here")).status_code == 404


def test_the_index_lists_every_report(operator_client, on_today):
    response = operator_client.get(reverse("reports:index"))

    page = response.content.decode()
    for slug in ("invoicing", "receivables", "active-subscriptions"):
        assert f'href="{report(slug)}"' in page
    assert "admin/base_site.html" in [t.name for t in response.templates]


# Who may see them ------------------------------------------------------------------------------


def pages() -> list[str]:
    return [
        reverse("admin:index"),
        reverse("reports:index"),
        report("invoicing"),
        report("invoicing") + "?format=csv",
    ]


def test_anonymous_people_are_sent_to_the_login(client, db):
    for url in pages():
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))


def test_people_who_are_not_staff_are_sent_to_the_login(client, demo_catalog):
    partner_user = builders.partner("acme", "Acme Resellers", "20.00", "paul").users.get().user
    customer_user = builders.user("someone")
    for person in (partner_user, customer_user):
        client.force_login(person)
        for url in pages():
            response = client.get(url)
            assert response.status_code == 302, (person, url)
            assert response["Location"].startswith(reverse("admin:login"))
    assert Partner.objects.count() == 1


def test_staff_who_may_not_read_invoices_get_neither_reports_nor_the_dashboard(
    client, demo_catalog, django_user_model
):
    # A staff member with no permission at all (a support agent, say)
    agent = django_user_model.objects.create_user("agent", password="x-long-password-1")
    agent.is_staff = True
    agent.save()
    client.force_login(agent)

    reports = [url for url in pages() if url != reverse("admin:index")]
    for url in [*reports, reverse("reports:mrr-movements"), reverse("reports:fec")]:
        assert client.get(url).status_code == 403, url
    home = client.get(reverse("admin:index"))
    assert home.status_code == 200
    assert b"cadence-dashboard" not in home.content
