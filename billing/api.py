"""REST API, invoices and credit notes (read-only), their PDF, and refunding a paid invoice
(operators; payments/api.py parses and renders it).

Operators see every document, drafts included; partners their customers' issued documents;
customers their own (as in the portals). Another tenant's document is a 404.
"""

from __future__ import annotations

import django_filters
from django.db.models import Prefetch
from django.http import HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, renderers, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.pagination import BasePagination
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from billing import services as billing_services
from billing.documents import invoice_filename, invoice_pdf
from billing.models import EInvoice, Invoice, InvoiceLine, InvoiceTax, Payment
from billing.services.einvoices import FORMATS as EINVOICE_FORMATS
from billing.services.einvoices import PLATFORM_STATUSES
from core.money import money_decimal
from integrations.filters import IdFilter
from integrations.idempotency import idempotent
from integrations.payloads import InvoiceSerializer
from integrations.serializers import MoneyField, PercentField
from integrations.viewsets import TenantMixin, lock_nowait
from partners.models import Partner
from partners.selectors import partner_invoice_filter
from payments.api import (
    PAY_EXAMPLE,
    REFUND_EXAMPLE,
    CardPaymentSerializer,
    PayInput,
    RefundInput,
    RefundSerializer,
    invoice_pay,
    refund_create,
)
from payments.selectors import with_refunded_amount
from subscriptions.api import IDEMPOTENCY_PARAMETER


class InvoiceLineSerializer(serializers.ModelSerializer):
    quantity = serializers.DecimalField(max_digits=12, decimal_places=2)
    unit_price = MoneyField()
    gross = MoneyField()
    discounts = serializers.SerializerMethodField()
    discount_total = MoneyField()
    net = MoneyField()
    tax_rate = PercentField()
    product = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)

    class Meta:
        model = InvoiceLine
        fields = [
            "position",
            "kind",
            "description",
            "period_start",
            "period_end",
            "charge",
            "charge_date",
            "product",
            "quantity",
            "unit_price",
            "gross",
            "discounts",
            "discount_total",
            "net",
            "tax_rate",
            "tax_category",
            "tax_exemption_reason",
            "rule",
        ]

    @extend_schema_field(
        {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "label": {"type": "string"},
                    "amount": {"type": "string", "example": "15.00"},
                },
            },
        }
    )
    def get_discounts(self, line: InvoiceLine) -> list[dict]:
        return [
            {
                "label": str(entry.get("label", "")),
                "amount": money_decimal(entry.get("amount", "0"), line.currency),
            }
            for entry in (line.discounts or [])
            if isinstance(entry, dict)
        ]


class InvoiceTaxSerializer(serializers.ModelSerializer):
    rate = PercentField()
    base = MoneyField()
    tax = MoneyField()

    class Meta:
        model = InvoiceTax
        fields = ["category", "rate", "base", "tax", "exemption_code", "exemption_reason"]


class PaymentSerializer(serializers.ModelSerializer):
    amount = MoneyField()

    class Meta:
        model = Payment
        fields = ["amount", "method", "received_on", "reference"]


class InvoiceDetailSerializer(InvoiceSerializer):
    lines = InvoiceLineSerializer(many=True, read_only=True)
    taxes = InvoiceTaxSerializer(many=True, read_only=True)
    payments = PaymentSerializer(many=True, read_only=True)

    class Meta(InvoiceSerializer.Meta):
        fields = [
            *InvoiceSerializer.Meta.fields,
            "customer_name",
            "customer_address",
            "customer_vat_number",
            "lines",
            "taxes",
            "payments",
        ]


class InvoiceFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Invoice.Status.choices)
    kind = django_filters.ChoiceFilter(choices=Invoice.Kind.choices)
    customer = IdFilter(field_name="customer_id", help_text="Customer id.")
    subscription = IdFilter(field_name="subscription_id", help_text="Subscription id.")
    plan = django_filters.CharFilter(field_name="subscription__plan__code", help_text="Plan code.")
    partner = django_filters.CharFilter(
        method="partner_filter",
        help_text="Partner code: the documents addressed to the partner, and its customers'.",
    )
    issue_date = django_filters.DateFromToRangeFilter(
        help_text="Issue date from (_after) and to (_before), inclusive."
    )
    due_date = django_filters.DateFromToRangeFilter(
        help_text="Due date from (_after) and to (_before), inclusive."
    )

    class Meta:
        model = Invoice
        fields = [
            "status",
            "kind",
            "customer",
            "subscription",
            "plan",
            "partner",
            "issue_date",
            "due_date",
        ]

    def partner_filter(self, queryset, name, value):
        partner = Partner.objects.filter(code=value).first()
        return queryset.filter(partner_invoice_filter(partner)) if partner else queryset.none()


class PDFRenderer(renderers.BaseRenderer):
    """Lets a client ask for `Accept: application/pdf`. The PDF itself is returned as is; an
    error (404…) asked for as a PDF is still JSON, and says so in its Content-Type."""

    media_type = "application/pdf"
    format = "pdf"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, bytes):
            return data
        response = (renderer_context or {}).get("response")
        if response is not None:
            response["Content-Type"] = "application/json"
        return renderers.JSONRenderer().render(data)


class EInvoiceFileRenderer(PDFRenderer):
    """The e-invoice's file as is (PDF or XML, its Content-Type set by the view); an error is
    JSON, and says so in its Content-Type."""

    media_type = "application/xml"
    format = "einvoice"


class EInvoiceFormatNegotiation(DefaultContentNegotiation):
    """On the e-invoice download, `?format=` names the e-invoice's format (ubl, cii, facturx),
    not a renderer: DRF's URL format override is off there, and errors are JSON."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


EINVOICE_FORMAT_PARAMETER = OpenApiParameter(
    "format",
    str,
    OpenApiParameter.QUERY,
    required=True,
    enum=sorted(EINVOICE_FORMATS),
    description="`facturx`: the PDF/A-3 with its CII embedded (Factur-X EN 16931); `cii`: "
    "the UN/CEFACT CII XML; `ubl`: the UBL 2.1 XML.",
)


@extend_schema_view(
    list=extend_schema(summary="List invoices and credit notes", tags=["invoices"]),
    retrieve=extend_schema(
        summary="An invoice or credit note, with its lines, taxes and payments",
        tags=["invoices"],
        responses=InvoiceDetailSerializer,
    ),
)
class InvoiceViewSet(TenantMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = InvoiceSerializer
    filterset_class = InvoiceFilter
    queryset = with_refunded_amount(
        Invoice.objects.select_related("customer", "credited_invoice").order_by("-id")
    )

    def scoped(self, queryset):
        if self.action == "retrieve":
            queryset = queryset.prefetch_related(
                Prefetch("lines", queryset=InvoiceLine.objects.select_related("product")),
                "taxes",
                "payments",
            )
        return self.tenant.invoices(queryset)

    def get_serializer_class(self):
        return InvoiceDetailSerializer if self.action == "retrieve" else InvoiceSerializer

    @extend_schema(
        summary="The PDF of an invoice or credit note",
        tags=["invoices"],
        responses={
            (200, "application/pdf"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The document, in the customer's language."
            )
        },
    )
    @action(
        detail=True,
        methods=["get"],
        url_path="pdf",
        renderer_classes=[renderers.JSONRenderer, PDFRenderer],
    )
    def pdf(self, request, pk=None):
        invoice = self.get_object()
        response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{invoice_filename(invoice)}"'
        return response

    @extend_schema(
        summary="The e-invoice of an issued invoice or credit note (Factur-X, CII or UBL)",
        description="Made once, when the document is issued (or now, if it is still being "
        "made). A draft has none (400).",
        tags=["invoices"],
        parameters=[EINVOICE_FORMAT_PARAMETER],
        responses={
            (200, "application/pdf"): OpenApiResponse(
                OpenApiTypes.BINARY, description="format=facturx"
            ),
            (200, "application/xml"): OpenApiResponse(
                OpenApiTypes.BINARY, description="format=cii or format=ubl"
            ),
        },
    )
    @action(
        detail=True,
        methods=["get"],
        url_path="einvoice",
        renderer_classes=[renderers.JSONRenderer, EInvoiceFileRenderer],
        content_negotiation_class=EInvoiceFormatNegotiation,
    )
    def einvoice(self, request, pk=None):
        file_format = request.query_params.get("format")
        if file_format not in EINVOICE_FORMATS:
            raise ValidationError(
                {"format": [_("Choose the e-invoice's format: facturx, cii or ubl.")]}
            )
        invoice = self.get_object()
        file = billing_services.einvoice_file(invoice=invoice, file_format=file_format)
        response = HttpResponse(file.content, content_type=file.content_type)
        response["Content-Disposition"] = f'attachment; filename="{file.filename}"'
        return response

    @extend_schema(
        summary="Refund a paid invoice, fully or partly (operators)",
        description="A credit note for the amount and a refund: by transfer to the customer's "
        "account (to pay until the transfer is made), back to the card through the gateway "
        "(pending until the gateway confirms) or to its customer credit (at once). Never "
        "more than what was paid and not refunded yet (billing-rules §13).",
        tags=["invoices"],
        request=RefundInput,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: RefundSerializer},
        examples=[REFUND_EXAMPLE],
    )
    @action(detail=True, methods=["post"], url_path="refunds")
    def refunds(self, request, pk=None):
        if not self.tenant.is_operator:
            raise PermissionDenied(_("Only an operator refunds an invoice."))

        def handle():
            invoice = self.get_object()
            lock_nowait(Invoice, invoice.pk)
            return refund_create(request, invoice)

        return idempotent(request, handle)

    @extend_schema(
        summary="Pay an open invoice by card",
        description="Charges what is left to pay to a saved card of the invoice's customer "
        "(`payment_method`) or to a card given for this payment only (`number`, `expiry`, "
        "`holder`). The gateway confirms asynchronously: the card payment is `processing` "
        "until its webhook (then `succeeded`, the invoice paid) — follow it at "
        "`/api/v1/card-payments/{id}/`; `requires_action`: the payer authenticates (3-D "
        "Secure) at `action_url`; `failed`: declined, with `failure_code` and "
        "`failure_reason`. While a payment of the invoice is being confirmed, it is returned "
        "rather than a second one started. A customer pays its own invoices, a partner those "
        "addressed to its billing account.",
        tags=["invoices"],
        request=PayInput,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: CardPaymentSerializer},
        examples=[PAY_EXAMPLE],
    )
    @action(detail=True, methods=["post"], url_path="pay")
    def pay(self, request, pk=None):
        def handle():
            invoice = self.get_object()
            lock_nowait(Invoice, invoice.pk)
            return invoice_pay(request, invoice, self.tenant)

        return idempotent(request, handle)


# The export point of the approved platform (PA) ------------------------------------------------


class IsOperator(BasePermission):
    """Operators only (staff tokens): the platform's connector runs as one."""

    message = _("Only an operator's token reads and updates the e-invoices' platform status.")

    def has_permission(self, request, view) -> bool:
        tenant = getattr(view, "tenant", None)
        return tenant is not None and tenant.is_operator


class EInvoiceSerializer(serializers.ModelSerializer):
    invoice = serializers.IntegerField(source="invoice_id", read_only=True)
    number = serializers.CharField(source="invoice.number", read_only=True)
    kind = serializers.CharField(source="invoice.kind", read_only=True)
    issue_date = serializers.DateField(source="invoice.issue_date", read_only=True)
    downloads = serializers.SerializerMethodField(help_text="Where each format downloads.")

    class Meta:
        model = EInvoice
        fields = [
            "id",
            "invoice",
            "number",
            "kind",
            "issue_date",
            "generated_at",
            "status",
            "status_reason",
            "platform_reference",
            "status_at",
            "downloads",
        ]

    @extend_schema_field(
        {
            "type": "object",
            "properties": {name: {"type": "string"} for name in sorted(EINVOICE_FORMATS)},
        }
    )
    def get_downloads(self, einvoice: EInvoice) -> dict[str, str]:
        path = reverse("api:invoice-einvoice", args=[einvoice.invoice_id])
        request = self.context.get("request")
        url = request.build_absolute_uri(path) if request is not None else path
        return {name: f"{url}?format={name}" for name in sorted(EINVOICE_FORMATS)}


class EInvoiceStatusInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=[str(status) for status in PLATFORM_STATUSES])
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    platform_reference = serializers.CharField(
        max_length=100, required=False, allow_blank=True, default=""
    )

    def validate(self, data):
        if data["status"] == EInvoice.Status.REJECTED and not data["reason"].strip():
            raise ValidationError({"reason": [_("A rejection needs its reason.")]})
        return data


class EInvoiceFilter(django_filters.FilterSet):
    after = django_filters.NumberFilter(
        field_name="pk", lookup_expr="gt", help_text="Cursor: the e-invoices after this id."
    )
    day = django_filters.DateFilter(
        field_name="invoice__issue_date", help_text="Issue date of the documents (YYYY-MM-DD)."
    )

    class Meta:
        model = EInvoice
        fields = ["after", "day"]


EINVOICES_PER_RESPONSE = 200


class AfterCursorPagination(BasePagination):
    """The platform's cursor: at most 200 rows after the `after` id (the filter), and the
    address of the next ones while a response is full."""

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.rows = list(queryset[:EINVOICES_PER_RESPONSE])
        return self.rows

    def get_paginated_response(self, data):
        next_url = None
        if len(self.rows) == EINVOICES_PER_RESPONSE:
            query = self.request.query_params.copy()
            query["after"] = self.rows[-1].pk
            next_url = self.request.build_absolute_uri(f"{self.request.path}?{query.urlencode()}")
        return Response({"next": next_url, "results": data})

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["next", "results"],
            "properties": {
                "next": {"type": "string", "format": "uri", "nullable": True},
                "results": schema,
            },
        }


@extend_schema_view(
    list=extend_schema(
        summary="E-invoices to send to the approved platform (operators)",
        description="Oldest first, at most 200 a response; follow `next` (or ask again with "
        "`after` = the last id) until it is null. Without the files: `downloads` says where "
        "each format is.",
        tags=["e-invoices"],
    ),
)
class EInvoiceViewSet(TenantMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    permission_classes = [*TenantMixin.permission_classes, IsOperator]
    serializer_class = EInvoiceSerializer
    filterset_class = EInvoiceFilter
    pagination_class = AfterCursorPagination
    # The files stay in the database: a list reads the rows' columns only.
    queryset = (
        EInvoice.objects.select_related("invoice")
        .defer("cii_xml", "ubl_xml", "facturx_pdf")
        .order_by("id")
    )

    def scoped(self, queryset):
        return queryset if self.tenant.is_operator else queryset.none()

    @extend_schema(
        summary="Record what the platform says of an e-invoice (operators)",
        description="submitted, rejected (with its reason), accepted or paid: kept in the "
        "e-invoice's history, and its current status.",
        tags=["e-invoices"],
        request=EInvoiceStatusInput,
        responses={200: EInvoiceSerializer},
    )
    @action(detail=True, methods=["post"], url_path="status")
    def status(self, request, pk=None):
        # Not an Idempotency-Key operation (nothing is charged): a status reported twice is
        # two rows of the history, as the platform said it twice.
        einvoice = self.get_object()
        data = EInvoiceStatusInput(data=request.data)
        data.is_valid(raise_exception=True)
        einvoice = billing_services.einvoice_status_record(
            einvoice=einvoice, actor=request.user, **data.validated_data
        )
        return Response(self.get_serializer(einvoice).data)
