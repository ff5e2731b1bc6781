"""The reports section, in the admin's chrome (`/admin/reports/…`, staff only: reports/urls.py
wraps every view in the admin's login check). A report page shows its filters, its charts, then
its tables, each downloadable as CSV with the same filters (`?format=csv&table=<n>`).

Bad filters are answered with the page and its errors (status 200, like any form), never
with an error page: a report is read, nothing is changed.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils.translation import gettext as _

from core import clock
from reports import selectors
from reports.forms import MovementFiltersForm, ReportFiltersForm
from reports.registry import REPORTS, ReportSpec
from reports.report_mrr import movement_labels
from reports.tables import Column, Table, table_csv

# The changes a drill-down page details (the CSV has them all).
SHOWN_CHANGES = 200


def report_index(request: HttpRequest) -> HttpResponse:
    context = {
        **admin.site.each_context(request),
        "title": _("Reports"),
        "reports": list(REPORTS.items()),
    }
    return render(request, "reports/index.html", context)


def report_detail(request: HttpRequest, slug: str) -> HttpResponseBase:
    spec = _spec(slug)
    form = ReportFiltersForm(request.GET, today=clock.today())
    result = spec.build(form.filters()) if form.is_valid() else None
    if result is not None and request.GET.get("format") == "csv":
        try:
            table = result.tables[int(request.GET.get("table", "0"))]
        except (ValueError, IndexError):
            raise Http404(_("This report has no such table.")) from None
        return table_csv(table)
    query = request.GET.copy()
    query.pop("format", None)
    query.pop("table", None)
    context = {
        **admin.site.each_context(request),
        "title": spec.title,
        "spec": spec,
        "slug": slug,
        "form": form,
        "result": result,
        # Each table's download keeps the filters of the page.
        "tables": [
            (table, f"?{query.urlencode()}&format=csv&table={n}")
            for n, table in enumerate(result.tables if result else [])
        ],
    }
    return render(request, "reports/report.html", context)


def _spec(slug: str) -> ReportSpec:
    try:
        return REPORTS[slug]
    except KeyError:
        raise Http404(_("No such report.")) from None


def mrr_movements(request: HttpRequest) -> HttpResponseBase:
    """The customers behind a month's MRR movements: each one's change, the MRR segments of its
    subscriptions and the timeline entries that moved them; the largest changes first."""
    labels = movement_labels()
    today = clock.today()
    form = MovementFiltersForm(request.GET, today=today, kinds=labels)
    context = {
        **admin.site.each_context(request),
        "title": _("MRR movements"),
        "form": form,
        "labels": labels,
    }
    if not form.is_valid():
        return render(request, "reports/mrr_movements.html", context)
    data = form.cleaned_data
    month = data["month"]
    filters = selectors.MrrFilters(
        currency=data.get("currency") or None,
        plan_id=data["plan"].pk if data.get("plan") else None,
        partner_id=data["partner"].pk if data.get("partner") else None,
    )
    found = selectors.month_changes(month, filters, today=today, kind=data.get("kind"))
    start, end, moved, changes = found.start, found.end, found.movements, found.changes
    if request.GET.get("format") == "csv":
        return table_csv(changes_table(changes, labels, month))
    context.update(
        month=month,
        opening=start,
        closing=end,
        movements=moved,
        count=len(changes),
        details=selectors.change_details(changes[:SHOWN_CHANGES], start, end, filters),
        shown=SHOWN_CHANGES,
        csv_url="?" + _with_format(request),
    )
    return render(request, "reports/mrr_movements.html", context)


def changes_table(changes, labels: dict[str, str], month) -> Table:
    customers = selectors.customer_names({c.customer_id for c in changes})
    return Table(
        title=_("MRR movements"),
        columns=[
            Column("customer_id", _("Customer id"), "int"),
            Column("customer", _("Customer")),
            Column("currency", _("Currency")),
            Column("movement", _("Movement")),
            Column("before", _("MRR before"), "money"),
            Column("after", _("MRR after"), "money"),
            Column("change", _("Change"), "money"),
        ],
        rows=(
            {
                "customer_id": c.customer_id,
                "customer": customers.get(c.customer_id, ""),
                "currency": c.currency,
                "movement": c.kind,
                "before": c.before,
                "after": c.after,
                "change": c.delta,
            }
            for c in changes
        ),
        filename=f"mrr-movements_{month:%Y-%m}.csv",
    )


def _with_format(request: HttpRequest) -> str:
    query = request.GET.copy()
    query["format"] = "csv"
    return query.urlencode()
