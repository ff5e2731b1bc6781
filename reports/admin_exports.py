"""The "Export CSV" and "Export XLSX" links of the admin's lists of invoices, invoice lines,
payments, customers and subscriptions: the rows the list shows, with its filters, search and
ordering, not only its page.

A model admin takes `ExportAdminMixin` first and names its dataset (`export_dataset`). The
export reuses the admin's own ChangeList, so it can never disagree with the list: whatever a
filter or a search does to the list's queryset, it does to the export. Only the page is left
out (no count, no page read): the rows are streamed (reports/exports/).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ERROR_FLAG, PAGE_VAR, ChangeList
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from core.errors import ApplicationError
from reports.exports import CSV, FORMATS, XLSX, Dataset, csv_response, xlsx_response

LINK_LABELS = {CSV: _("Export CSV"), XLSX: _("Export XLSX")}


class ExportChangeList(ChangeList):
    """The list's queryset (filters, search, ordering) without its page: no count is made and
    no page is read."""

    def get_results(self, request: HttpRequest) -> None:
        self.result_count = self.full_result_count = 0
        self.result_list = self.queryset.none()
        self.can_show_all = self.multi_page = False
        self.paginator = None


class ExportAdminMixin:
    """Export links on the list, and their view, for a ModelAdmin (put it first)."""

    export_dataset: Dataset
    change_list_template = "admin/reports/change_list_exports.html"

    def get_export_dataset(self, request: HttpRequest) -> Dataset:
        return self.export_dataset

    def get_urls(self):
        opts = self.model._meta
        return [
            path(
                "export/<slug:file_format>/",
                self.admin_site.admin_view(self.export_view),
                name=f"{opts.app_label}_{opts.model_name}_export",
            ),
            *super().get_urls(),
        ]

    def get_changelist(self, request: HttpRequest, **kwargs):
        if getattr(request, "_cadence_export", False):
            return ExportChangeList
        return super().get_changelist(request, **kwargs)

    def changelist_view(self, request: HttpRequest, extra_context=None):
        extra_context = extra_context or {}
        if self.has_view_permission(request):
            query = request.GET.copy()
            query.pop(PAGE_VAR, None)
            query.pop(ERROR_FLAG, None)
            opts = self.model._meta
            suffix = f"?{query.urlencode()}" if query else ""
            extra_context["export_links"] = [
                (
                    reverse(
                        f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_export",
                        args=[file_format],
                    )
                    + suffix,
                    LINK_LABELS[file_format],
                )
                for file_format in FORMATS
            ]
        return super().changelist_view(request, extra_context)

    def export_view(self, request: HttpRequest, file_format: str) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        if file_format not in FORMATS:
            raise Http404
        opts = self.model._meta
        changelist_url = reverse(
            f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_changelist"
        )
        request._cadence_export = True  # type: ignore[attr-defined]
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            # What the list itself answers to a filter it cannot apply.
            return HttpResponseRedirect(f"{changelist_url}?{ERROR_FLAG}=1")
        finally:
            request._cadence_export = False  # type: ignore[attr-defined]
        dataset = self.get_export_dataset(request)
        if file_format == CSV:
            return csv_response(dataset, changelist.queryset)
        try:
            return xlsx_response(dataset, changelist.queryset)
        except ApplicationError as refusal:
            self.message_user(request, refusal.message, messages.ERROR)
            query = request.GET.urlencode()
            return HttpResponseRedirect(f"{changelist_url}?{query}" if query else changelist_url)
