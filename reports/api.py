"""REST API, exports: `GET /api/v1/exports/<dataset>/?format=csv|xlsx` and the dataset's
filters (the filters of its list endpoint, and the currency). Operators only: a partner's or a
customer's token is refused (403): the exports hold every tenant's rows.

Each dataset is its own operation (its own filters, its own OpenAPI entry), a list that answers
a file instead of a page: CSV streamed (the default, or `Accept: text/csv`), XLSX (`format=xlsx`
or its media type). CSV takes `delimiter` (comma, semicolon, tab) and `bom` (true: a UTF-8
byte-order mark for spreadsheets); XLSX ignores them. A bad filter value is a 400 with field
errors, like every list's.
"""

from __future__ import annotations

import django_filters
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import renderers, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import BasePermission, IsAuthenticated

from billing.api import InvoiceFilter
from billing.models import Invoice, InvoiceLine, Payment
from integrations.access import HasTenant, request_tenant
from integrations.filters import IdFilter
from integrations.viewsets import TenantMixin
from payments.api import ReceivedPaymentFilter
from reports.exports import CSV, DATASETS, DELIMITERS, XLSX, csv_response, xlsx_response
from reports.exports.responses import XLSX_CONTENT_TYPE
from subscriptions.api import CustomerFilter, SubscriptionFilter

CURRENCIES = [(code, code) for code in settings.CURRENCIES]


class IsOperator(BasePermission):
    message = gettext_lazy(
        "Exports are for operators: they hold every customer's rows. A partner or a customer "
        "reads its own through the lists of the API."
    )

    def has_permission(self, request, view) -> bool:
        tenant = request_tenant(request)
        return tenant is not None and tenant.is_operator


class _FileRenderer(renderers.BaseRenderer):
    """Lets a client ask for the file's media type or `format=`. The file itself is the view's
    own response (streamed, never rendered); an error is JSON and says so (as PDFRenderer)."""

    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        response = (renderer_context or {}).get("response")
        if response is not None:
            response["Content-Type"] = "application/json"
        return renderers.JSONRenderer().render(data)


class CSVRenderer(_FileRenderer):
    media_type = "text/csv"
    format = CSV


class XLSXRenderer(_FileRenderer):
    media_type = XLSX_CONTENT_TYPE
    format = XLSX


# Filters: each list endpoint's own, and the currency -------------------------------------------


class DocumentExportFilter(InvoiceFilter):
    kind = None  # the dataset is the kind: invoices or credit notes
    currency = django_filters.ChoiceFilter(choices=CURRENCIES)

    class Meta(InvoiceFilter.Meta):
        fields = [name for name in InvoiceFilter.Meta.fields if name != "kind"] + ["currency"]


class InvoiceLineExportFilter(django_filters.FilterSet):
    invoice = IdFilter(field_name="invoice_id", help_text="Invoice id.")
    customer = IdFilter(field_name="invoice__customer_id", help_text="The invoice's customer id.")
    invoice_kind = django_filters.ChoiceFilter(
        field_name="invoice__kind", choices=Invoice.Kind.choices
    )
    status = django_filters.MultipleChoiceFilter(
        field_name="invoice__status",
        choices=Invoice.Status.choices,
        help_text="The invoice's status.",
    )
    kind = django_filters.ChoiceFilter(choices=InvoiceLine.Kind.choices)
    product = django_filters.CharFilter(field_name="product__code", help_text="Product code.")
    issue_date = django_filters.DateFromToRangeFilter(
        field_name="invoice__issue_date",
        help_text="The invoice's issue date from (_after) and to (_before), inclusive.",
    )
    currency = django_filters.ChoiceFilter(choices=CURRENCIES)

    class Meta:
        model = InvoiceLine
        fields = [
            "invoice",
            "customer",
            "invoice_kind",
            "status",
            "kind",
            "product",
            "issue_date",
            "currency",
        ]


class PaymentExportFilter(ReceivedPaymentFilter):
    customer = IdFilter(field_name="invoice__customer_id", help_text="The invoice's customer id.")
    received_on = django_filters.DateFromToRangeFilter(
        help_text="Received from (_after) and to (_before), inclusive."
    )
    currency = django_filters.ChoiceFilter(choices=CURRENCIES)

    class Meta(ReceivedPaymentFilter.Meta):
        model = Payment
        fields = [*ReceivedPaymentFilter.Meta.fields, "customer", "received_on", "currency"]


class SubscriptionExportFilter(SubscriptionFilter):
    currency = django_filters.ChoiceFilter(choices=CURRENCIES)

    class Meta(SubscriptionFilter.Meta):
        fields = [*SubscriptionFilter.Meta.fields, "currency"]


# Views -------------------------------------------------------------------------------------------

CSV_PARAMETERS = [
    OpenApiParameter(
        "delimiter",
        str,
        enum=list(DELIMITERS),
        description="CSV only: the field separator (default comma; semicolon for a "
        "spreadsheet set to French).",
    ),
    OpenApiParameter(
        "bom",
        bool,
        description="CSV only: start with a UTF-8 byte-order mark, so that a spreadsheet "
        "reads the accents right (default false).",
    ),
]
BOOLEANS = {"true": True, "false": False}


class ExportViewSet(TenantMixin, viewsets.GenericViewSet):
    """One dataset's export (subclasses name it): a list answered as a file."""

    permission_classes = [IsAuthenticated, HasTenant, IsOperator]
    renderer_classes = [CSVRenderer, XLSXRenderer]
    pagination_class = None
    extra_query_parameters = frozenset(parameter.name for parameter in CSV_PARAMETERS)
    dataset_key: str

    @property
    def dataset(self):
        return DATASETS[self.dataset_key]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.dataset.model._default_manager.none()
        return self.scoped(self.dataset.queryset())

    def scoped(self, queryset):
        return queryset  # operators only (IsOperator): every row

    def list(self, request, *args, **kwargs):
        delimiter = request.query_params.get("delimiter", "comma")
        bom = request.query_params.get("bom", "false")
        errors = {}
        if delimiter not in DELIMITERS:
            errors["delimiter"] = [
                _("Choose one of: %(choices)s.") % {"choices": ", ".join(DELIMITERS)}
            ]
        if bom not in BOOLEANS:
            errors["bom"] = [_("Give true or false.")]
        if errors:
            raise ValidationError(errors)
        queryset = self.filter_queryset(self.get_queryset())
        if request.accepted_renderer.format == XLSX:
            return xlsx_response(self.dataset, queryset)
        return csv_response(
            self.dataset, queryset, delimiter=DELIMITERS[delimiter], bom=BOOLEANS[bom]
        )


def _schema(dataset_key: str, summary: str):
    return extend_schema(
        summary=summary,
        tags=["exports"],
        parameters=CSV_PARAMETERS,
        responses={
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.BINARY,
                description="The rows as CSV (UTF-8), header first: "
                + ",".join(DATASETS[dataset_key].header),
            ),
            (200, XLSX_CONTENT_TYPE): OpenApiResponse(
                OpenApiTypes.BINARY, description="The rows as one XLSX sheet, header first."
            ),
        },
    )


class InvoiceExportViewSet(ExportViewSet):
    dataset_key = "invoices"
    filterset_class = DocumentExportFilter

    @_schema("invoices", "Export invoices")
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)


class CreditNoteExportViewSet(ExportViewSet):
    dataset_key = "credit-notes"
    filterset_class = DocumentExportFilter

    @_schema("credit-notes", "Export credit notes")
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)


class InvoiceLineExportViewSet(ExportViewSet):
    dataset_key = "invoice-lines"
    filterset_class = InvoiceLineExportFilter

    @_schema("invoice-lines", "Export invoice lines")
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)


class PaymentExportViewSet(ExportViewSet):
    dataset_key = "payments"
    filterset_class = PaymentExportFilter

    @_schema("payments", "Export payments (and their reversals)")
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)


class CustomerExportViewSet(ExportViewSet):
    dataset_key = "customers"
    filterset_class = CustomerFilter

    @_schema("customers", "Export customers")
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)


class SubscriptionExportViewSet(ExportViewSet):
    dataset_key = "subscriptions"
    filterset_class = SubscriptionExportFilter

    @_schema("subscriptions", "Export subscriptions")
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)


EXPORT_VIEWSETS = [
    InvoiceExportViewSet,
    CreditNoteExportViewSet,
    InvoiceLineExportViewSet,
    PaymentExportViewSet,
    CustomerExportViewSet,
    SubscriptionExportViewSet,
]
