"""REST API, invoices and credit notes (read-only), their PDF, and refunding a paid invoice
(operators; payments/api.py parses and renders it).

Operators see every document, drafts included; partners their customers' issued documents;
customers their own (as in the portals). Another tenant's document is a 404.
"""

from __future__ import annotations

import django_filters
from django.db.models import Prefetch
from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import renderers, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied

from billing.documents import invoice_filename, invoice_pdf
from billing.models import Invoice, InvoiceLine, InvoiceTax, Payment
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
        fields = ["rate", "base", "tax"]


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
