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
from reports.forms import ReportFiltersForm
from reports.registry import REPORTS, ReportSpec
from reports.tables import table_csv


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
