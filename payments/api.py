"""REST API, payments: payment methods (SEPA mandates), refunds and the customer credit ledger.

- `/api/v1/payment-methods/`: a customer's token sees its own methods, a partner's token those of
  its billing account (what it is invoiced for, as in the partner portal), an operator every
  one. A token adds a SEPA mandate, makes a method the default and revokes one, through the
  services the portals call. An IBAN goes out masked, never in full.
- `/api/v1/refunds/`: the refunds of the invoices the caller sees (made by operators, through
  `POST /api/v1/invoices/{id}/refunds/`, billing/api.py).
- `/api/v1/customers/{id}/credit/`: a customer's credit balance per currency and its ledger.
- `/api/v1/payment-methods/cards/`: save a card (the gateway keeps it; Cadence its token, brand
  and last four digits). `POST /api/v1/invoices/{id}/pay/` (billing/api.py) charges an open
  invoice to a card; `/api/v1/card-payments/` lists the attempts and their status;
  `/api/v1/payments/` the money received on the caller's invoices, whatever the method.

Another tenant's row is a 404; the changes accept an `Idempotency-Key`.
"""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from billing.models import Invoice, Payment
from core import clock
from core.errors import ApplicationError
from core.money import money_decimal
from integrations.access import Role, Tenant
from integrations.filters import IdFilter
from integrations.idempotency import idempotent
from integrations.pagination import Pagination
from integrations.payloads import CustomerRefSerializer
from integrations.serializers import MONEY_SCHEMA, InputSerializer, MoneyField
from integrations.viewsets import TenantMixin
from payments import selectors, services
from payments.models import CardPayment, CreditEntry, PaymentMethod, Refund
from subscriptions.api import IDEMPOTENCY_PARAMETER
from subscriptions.models import Customer

# Scopes ------------------------------------------------------------------------------------------


def payment_method_customers(tenant: Tenant) -> QuerySet[Customer]:
    """Whose payment methods the caller manages: a customer its own, a partner its billing
    account's (the portals' rule), an operator everyone's."""
    if tenant.role == Role.CUSTOMER:
        return Customer.objects.filter(pk=tenant.customer.pk)
    if tenant.role == Role.PARTNER:
        return Customer.objects.filter(pk=tenant.partner.account_id or 0)
    return Customer.objects.all()


def credit_customers(tenant: Tenant) -> QuerySet[Customer]:
    """Whose credit the caller reads: its customers, and a partner its billing account too."""
    if tenant.role == Role.PARTNER:
        return Customer.objects.filter(
            Q(partner_link__partner=tenant.partner) | Q(pk=tenant.partner.account_id or 0)
        )
    return tenant.customers()


# Serializers: output -------------------------------------------------------------------------------


class PaymentMethodSerializer(serializers.ModelSerializer):
    customer = CustomerRefSerializer(read_only=True)
    iban_masked = serializers.SerializerMethodField()
    sequence_type = serializers.SerializerMethodField()

    class Meta:
        model = PaymentMethod
        fields = [
            "id",
            "customer",
            "kind",
            "status",
            "is_default",
            "mandate_reference",
            "mandate_signed_on",
            "account_holder",
            "iban_masked",
            "bic",
            "sequence_type",
            "card_brand",
            "card_last4",
            "created_at",
            "revoked_on",
        ]

    @extend_schema_field(
        {
            "type": "string",
            "example": "FR76 •••• 0189",
            "description": "The IBAN without its middle digits (never the full IBAN).",
        }
    )
    def get_iban_masked(self, method: PaymentMethod) -> str:
        return method.masked_iban if method.iban else ""

    @extend_schema_field(
        {
            "type": ["string", "null"],
            "enum": ["FRST", "RCUR", None],
            "description": "SEPA: the sequence type of the next debit (null for other kinds).",
        }
    )
    def get_sequence_type(self, method: PaymentMethod) -> str | None:
        return method.sequence_type if method.kind == PaymentMethod.Kind.SEPA_DEBIT else None


class RefundSerializer(serializers.ModelSerializer):
    invoice = serializers.PrimaryKeyRelatedField(read_only=True)
    invoice_number = serializers.CharField(source="invoice.number", read_only=True)
    credit_note = serializers.PrimaryKeyRelatedField(read_only=True)
    credit_note_number = serializers.CharField(source="credit_note.number", read_only=True)
    customer = CustomerRefSerializer(source="invoice.customer", read_only=True)
    amount = MoneyField()
    iban_masked = serializers.SerializerMethodField()

    class Meta:
        model = Refund
        fields = [
            "id",
            "invoice",
            "invoice_number",
            "credit_note",
            "credit_note_number",
            "customer",
            "currency",
            "amount",
            "via",
            "status",
            "iban_masked",
            "reason",
            "day",
            "created_at",
        ]

    @extend_schema_field(
        {
            "type": "string",
            "example": "FR76 •••• 0189",
            "description": "The account paid back (a transfer), masked; empty otherwise.",
        }
    )
    def get_iban_masked(self, refund: Refund) -> str:
        return refund.masked_iban


class CardPaymentSerializer(serializers.ModelSerializer):
    invoice = serializers.PrimaryKeyRelatedField(read_only=True)
    invoice_number = serializers.CharField(source="invoice.number", read_only=True)
    customer = CustomerRefSerializer(source="invoice.customer", read_only=True)
    payment_method = serializers.PrimaryKeyRelatedField(
        source="method", read_only=True, allow_null=True
    )
    amount = MoneyField()
    failure_reason = serializers.SerializerMethodField()
    payment = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = CardPayment
        fields = [
            "id",
            "invoice",
            "invoice_number",
            "customer",
            "payment_method",
            "card_brand",
            "card_last4",
            "currency",
            "amount",
            "gateway",
            "provider_id",
            "status",
            "action_url",
            "failure_code",
            "failure_reason",
            "off_session",
            "created_on",
            "confirmed_on",
            "payment",
            "created_at",
        ]

    @extend_schema_field(
        {
            "type": "string",
            "example": "Your card was declined by your bank. Try another card.",
            "description": "Why it was declined, in the caller's language (empty otherwise).",
        }
    )
    def get_failure_reason(self, attempt: CardPayment) -> str:
        return attempt.failure_text


class ReceivedPaymentSerializer(serializers.ModelSerializer):
    invoice = serializers.PrimaryKeyRelatedField(read_only=True)
    invoice_number = serializers.CharField(source="invoice.number", read_only=True)
    customer = CustomerRefSerializer(source="invoice.customer", read_only=True)
    amount = MoneyField(help_text="Negative: a reversal (money that came back).")
    reverses = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = Payment
        fields = [
            "id",
            "invoice",
            "invoice_number",
            "customer",
            "currency",
            "amount",
            "method",
            "received_on",
            "reference",
            "reverses",
            "recorded_at",
        ]


class DocumentRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Invoice
        fields = ["id", "number", "kind"]


class CustomerCreditEntrySerializer(serializers.ModelSerializer):
    amount = MoneyField(help_text="Positive: credit given; negative: credit used.")
    document = DocumentRefSerializer(
        source="invoice",
        read_only=True,
        help_text="The credit note that gave the credit, or the invoice it paid.",
    )

    class Meta:
        model = CreditEntry
        fields = ["id", "kind", "currency", "amount", "document", "day", "created_at"]


class CreditBalanceSerializer(serializers.Serializer):
    currency = serializers.CharField()
    balance = serializers.CharField()


# Serializers: input (parsing only; the services decide) ------------------------------------------


class SepaMandateInput(InputSerializer):
    customer = serializers.PrimaryKeyRelatedField(
        queryset=Customer.objects.none(),
        required=False,
        help_text="Whose mandate (operators; a customer's or partner's token: its own, the "
        "default).",
    )
    account_holder = serializers.CharField(max_length=70, help_text="As the bank knows it.")
    iban = serializers.CharField(max_length=50, help_text="Spaces allowed.")
    bic = serializers.CharField(
        max_length=20,
        required=False,
        allow_blank=True,
        default="",
        help_text="Found from the IBAN when the bank is known.",
    )
    accepted = serializers.BooleanField(
        help_text="The account holder accepted the mandate text: must be true."
    )
    make_default = serializers.BooleanField(
        required=False, default=True, help_text="Invoices are paid by it from now on."
    )

    def __init__(self, *args, customers: QuerySet[Customer] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if customers is not None:
            self.fields["customer"].queryset = customers


class CardInput(InputSerializer):
    customer = serializers.PrimaryKeyRelatedField(
        queryset=Customer.objects.none(),
        required=False,
        help_text="Whose card (operators; a customer's or partner's token: its own, the default).",
    )
    # Blank or not, what was typed goes to the service, whose refusal names the field.
    number = serializers.CharField(
        max_length=30,
        allow_blank=True,
        trim_whitespace=False,
        help_text="The card number (spaces allowed); never stored by Cadence.",
    )
    expiry = serializers.CharField(
        max_length=7, allow_blank=True, trim_whitespace=False, help_text="MM/YY, as on the card."
    )
    holder = serializers.CharField(
        max_length=100, allow_blank=True, trim_whitespace=False, help_text="The name on the card."
    )
    make_default = serializers.BooleanField(
        required=False, default=True, help_text="Invoices are paid by it from now on."
    )

    def __init__(self, *args, customers: QuerySet[Customer] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if customers is not None:
            self.fields["customer"].queryset = customers


class PayInput(InputSerializer):
    payment_method = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=2**63 - 1,
        help_text="A saved card of the invoice's customer; or give `number`, `expiry` and "
        "`holder` for a card used for this payment only.",
    )
    number = serializers.CharField(
        max_length=30, required=False, default="", allow_blank=True, trim_whitespace=False
    )
    expiry = serializers.CharField(
        max_length=7, required=False, default="", allow_blank=True, trim_whitespace=False
    )
    holder = serializers.CharField(
        max_length=100, required=False, default="", allow_blank=True, trim_whitespace=False
    )
    return_url = serializers.CharField(
        max_length=500,
        required=False,
        default="",
        allow_blank=True,
        help_text="Where the 3-D Secure page sends the payer back (a path of this site).",
    )


class NoInput(InputSerializer):
    """Nothing to send (`{}` or no body)."""


class RefundInput(InputSerializer):
    # Read by the service's one rule for amounts typed in (core.money.amount_entered), whose
    # refusal names the field: "" or "abc" is "Enter an amount, e.g. 40.00.".
    amount = serializers.CharField(
        max_length=30,
        allow_blank=True,
        trim_whitespace=False,
        help_text="To pay back, in the invoice's currency: a decimal string, e.g. 40.00.",
    )
    via = serializers.ChoiceField(
        choices=[Refund.Via.TRANSFER.value, Refund.Via.GATEWAY.value, Refund.Via.CREDIT.value],
        help_text="`transfer`: to the customer's bank account; `gateway`: back to the card that "
        "paid the invoice (pending until the gateway confirms); `credit`: to its customer credit.",
    )
    iban = serializers.CharField(
        max_length=50,
        required=False,
        allow_blank=True,
        default="",
        help_text="For a transfer: the account to pay back (default: the customer's mandate).",
    )
    # A reason of spaces is the service's refusal ("Say why…"), named on its field.
    reason = serializers.CharField(
        max_length=300, trim_whitespace=False, help_text="Printed on the credit note."
    )


# Filters -------------------------------------------------------------------------------------------


class PaymentMethodFilter(django_filters.FilterSet):
    customer = IdFilter(field_name="customer_id", help_text="Customer id.")
    kind = django_filters.ChoiceFilter(choices=PaymentMethod.Kind.choices)
    status = django_filters.ChoiceFilter(choices=PaymentMethod.Status.choices)

    class Meta:
        model = PaymentMethod
        fields = ["customer", "kind", "status"]


class RefundFilter(django_filters.FilterSet):
    invoice = IdFilter(field_name="invoice_id", help_text="Invoice id.")
    customer = IdFilter(field_name="invoice__customer_id", help_text="Customer invoiced (id).")
    via = django_filters.ChoiceFilter(choices=Refund.Via.choices)
    status = django_filters.ChoiceFilter(choices=Refund.Status.choices)

    class Meta:
        model = Refund
        fields = ["invoice", "customer", "via", "status"]


class CardPaymentFilter(django_filters.FilterSet):
    invoice = IdFilter(field_name="invoice_id", help_text="Invoice id.")
    status = django_filters.ChoiceFilter(choices=CardPayment.Status.choices)

    class Meta:
        model = CardPayment
        fields = ["invoice", "status"]


class ReceivedPaymentFilter(django_filters.FilterSet):
    invoice = IdFilter(field_name="invoice_id", help_text="Invoice id.")
    method = django_filters.ChoiceFilter(choices=Payment.Method.choices)

    class Meta:
        model = Payment
        fields = ["invoice", "method"]


# Views ---------------------------------------------------------------------------------------------

CARD_EXAMPLE = OpenApiExample(
    "A test card",
    value={"number": "4242 4242 4242 4242", "expiry": "12/30", "holder": "Denis Dupont"},
    request_only=True,
)

MANDATE_EXAMPLE = OpenApiExample(
    "A SEPA mandate",
    value={
        "account_holder": "Atelier Dupont",
        "iban": "FR76 3000 6000 0112 3456 7890 189",
        "accepted": True,
    },
    request_only=True,
)


@extend_schema_view(
    list=extend_schema(summary="List payment methods", tags=["payments"]),
    retrieve=extend_schema(summary="A payment method", tags=["payments"]),
)
class PaymentMethodViewSet(TenantMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = PaymentMethodSerializer
    filterset_class = PaymentMethodFilter
    queryset = PaymentMethod.objects.select_related("customer").order_by("customer_id", "-id")

    def scoped(self, queryset):
        return queryset.filter(customer__in=payment_method_customers(self.tenant))

    @extend_schema(
        summary="Add a SEPA direct debit mandate",
        description="Signed today by the account holder, who accepted the mandate text; the "
        "IBAN (and BIC) are validated, the mandate reference is given. The new mandate is the "
        "default unless `make_default` is false.",
        tags=["payments"],
        request=SepaMandateInput,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: PaymentMethodSerializer},
        examples=[MANDATE_EXAMPLE],
    )
    def create(self, request):
        def handle() -> Response:
            customers = payment_method_customers(self.tenant)
            serializer = SepaMandateInput(data=request.data, customers=customers)
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
            customer = data.get("customer")
            if customer is None:
                if self.tenant.role == Role.OPERATOR:
                    raise ApplicationError(
                        _("Name the customer whose account this mandate debits."),
                        field="customer",
                    )
                customer = customers.first()
                if customer is None:  # a partner without a billing account
                    raise Http404
            method = services.sepa_mandate_add(
                customer=customer,
                account_holder=data["account_holder"],
                iban=data["iban"],
                bic=data["bic"],
                accepted=data["accepted"],
                make_default=data["make_default"],
                today=clock.today(),
            )
            return Response(PaymentMethodSerializer(method).data, status=status.HTTP_201_CREATED)

        return idempotent(request, handle)

    @extend_schema(
        summary="Save a card",
        description="The gateway verifies and keeps the card (a declined card is refused, "
        "with the reason); Cadence keeps its token, brand and last four digits, never the "
        "number. With the test gateway, use its test numbers (4242 4242 4242 4242…). The "
        "new card is the default unless `make_default` is false.",
        tags=["payments"],
        request=CardInput,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: PaymentMethodSerializer},
        examples=[CARD_EXAMPLE],
    )
    @action(detail=False, methods=["post"], url_path="cards", url_name="cards")
    def cards(self, request):
        def handle() -> Response:
            customers = payment_method_customers(self.tenant)
            serializer = CardInput(data=request.data, customers=customers)
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
            customer = data.get("customer")
            if customer is None:
                if self.tenant.role == Role.OPERATOR:
                    raise ApplicationError(
                        _("Name the customer whose card this is."), field="customer"
                    )
                customer = customers.first()
                if customer is None:  # a partner without a billing account
                    raise Http404
            method = services.card_add(
                customer=customer,
                number=data["number"],
                expiry=data["expiry"],
                holder=data["holder"],
                make_default=data["make_default"],
                today=clock.today(),
            )
            return Response(PaymentMethodSerializer(method).data, status=status.HTTP_201_CREATED)

        return idempotent(request, handle)

    def _change(self, request, call) -> Response:
        def handle() -> Response:
            method = self.get_object()
            serializer = NoInput(data=request.data)
            serializer.is_valid(raise_exception=True)
            changed = call(method)
            fresh = self.get_queryset().get(pk=changed.pk)
            return Response(PaymentMethodSerializer(fresh).data)

        return idempotent(request, handle)

    @extend_schema(
        summary="Make a payment method the default",
        description="Invoices are paid by it from now on; a revoked method cannot be.",
        tags=["payments"],
        request=NoInput,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={200: PaymentMethodSerializer},
    )
    @action(detail=True, methods=["post"], url_path="make-default", url_name="make-default")
    def make_default(self, request, pk=None):
        return self._change(
            request, lambda method: services.payment_method_set_default(method=method)
        )

    @extend_schema(
        summary="Revoke a payment method",
        description="Nothing more is debited or charged by it; invoices are then paid by bank "
        "transfer unless another method is made the default.",
        tags=["payments"],
        request=NoInput,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={200: PaymentMethodSerializer},
    )
    @action(detail=True, methods=["post"], url_path="revoke", url_name="revoke")
    def revoke(self, request, pk=None):
        return self._change(
            request,
            lambda method: services.payment_method_revoke(method=method, today=clock.today()),
        )


@extend_schema_view(
    list=extend_schema(summary="List refunds", tags=["payments"]),
    retrieve=extend_schema(summary="A refund", tags=["payments"]),
)
class RefundViewSet(TenantMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = RefundSerializer
    filterset_class = RefundFilter
    queryset = Refund.objects.select_related("invoice__customer", "credit_note").order_by("-id")

    def scoped(self, queryset):
        if self.tenant.is_operator:
            return queryset
        return queryset.filter(invoice__in=self.tenant.invoices())


@extend_schema_view(
    list=extend_schema(summary="List card payments", tags=["payments"]),
    retrieve=extend_schema(summary="A card payment and its status", tags=["payments"]),
)
class CardPaymentViewSet(TenantMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = CardPaymentSerializer
    filterset_class = CardPaymentFilter
    queryset = CardPayment.objects.select_related("invoice__customer").order_by("-id")

    def scoped(self, queryset):
        if self.tenant.is_operator:
            return queryset
        return queryset.filter(invoice__in=self.tenant.invoices())


@extend_schema_view(
    list=extend_schema(
        summary="List payments received",
        description="The money received on the invoices the caller sees, by any method "
        "(card, transfer, direct debit, customer credit); a reversal is negative.",
        tags=["payments"],
    ),
    retrieve=extend_schema(summary="A payment received", tags=["payments"]),
)
class ReceivedPaymentViewSet(TenantMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = ReceivedPaymentSerializer
    filterset_class = ReceivedPaymentFilter
    queryset = Payment.objects.select_related("invoice__customer").order_by("-id")

    def scoped(self, queryset):
        if self.tenant.is_operator:
            return queryset
        return queryset.filter(invoice__in=self.tenant.invoices())


def payable_invoices(tenant: Tenant) -> QuerySet[Invoice]:
    """What the caller may pay by card: a customer its own invoices, a partner those addressed
    to its billing account (as in the portal), an operator any."""
    return Invoice.objects.filter(customer__in=payment_method_customers(tenant))


def invoice_pay(request, invoice: Invoice, tenant: Tenant) -> Response:
    """`POST /api/v1/invoices/{id}/pay/` (billing/api.py): parse, call the service, render."""
    if not payable_invoices(tenant).filter(pk=invoice.pk).exists():
        raise Http404
    serializer = PayInput(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    return_url = data["return_url"] if data["return_url"].startswith("/") else ""
    if data.get("payment_method") is not None:
        method = PaymentMethod.objects.filter(
            pk=data["payment_method"], customer_id=invoice.customer_id
        ).first()
        if method is None:
            raise ApplicationError(
                _("Choose one of the customer's saved cards."), field="payment_method"
            )
        attempt = services.card_payment_create(
            invoice=invoice, method=method, day=clock.today(), return_url=return_url
        )
    else:
        card = services.card_details(
            number=data["number"], expiry=data["expiry"], holder=data["holder"], today=clock.today()
        )
        attempt = services.card_payment_create(
            invoice=invoice, card=card, day=clock.today(), return_url=return_url
        )
    attempt = CardPayment.objects.select_related("invoice__customer").get(pk=attempt.pk)
    return Response(CardPaymentSerializer(attempt).data, status=status.HTTP_201_CREATED)


PAY_EXAMPLE = OpenApiExample("By a saved card", value={"payment_method": 12}, request_only=True)


class CreditPagination(Pagination):
    """The ledger's pages, with the customer and its balance per currency in front."""

    def get_paginated_response_schema(self, schema):
        paginated = super().get_paginated_response_schema(schema)
        paginated["properties"] = {
            "customer": {
                "type": "object",
                "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
                "required": ["id", "name"],
            },
            "balances": {
                "type": "array",
                "description": "Credit left per currency (currencies with credit only).",
                "items": {
                    "type": "object",
                    "properties": {"currency": {"type": "string"}, "balance": MONEY_SCHEMA},
                    "required": ["currency", "balance"],
                },
            },
            **paginated["properties"],
        }
        paginated["required"] = ["customer", "balances", *paginated.get("required", [])]
        return paginated


@extend_schema_view(
    list=extend_schema(
        summary="A customer's credit: balance per currency and ledger",
        description="Credit comes from credit notes not refunded (a refund to credit) and "
        "over-payments, and is applied to the next invoices. The ledger's newest entries first.",
        tags=["payments"],
        parameters=[
            OpenApiParameter(
                "id", OpenApiTypes.INT, OpenApiParameter.PATH, description="Customer id."
            )
        ],
    ),
)
class CustomerCreditViewSet(TenantMixin, viewsets.GenericViewSet):
    serializer_class = CustomerCreditEntrySerializer
    pagination_class = CreditPagination
    queryset = CreditEntry.objects.select_related("invoice").order_by("-day", "-id")

    def scoped(self, queryset):
        return queryset.filter(customer__in=credit_customers(self.tenant))

    def list(self, request, id=None):
        customer = credit_customers(self.tenant).filter(pk=id).first()
        if customer is None:
            raise Http404
        page = self.paginate_queryset(self.get_queryset().filter(customer=customer))
        response = self.get_paginated_response(self.get_serializer(page, many=True).data)
        balances = [
            {"currency": currency, "balance": money_decimal(balance, currency)}
            for currency, balance in selectors.credit_balances(customer)
        ]
        response.data = {
            "customer": {"id": customer.pk, "name": customer.name},
            "balances": balances,
            **response.data,
        }
        return response


def refund_create(request, invoice: Invoice) -> Response:
    """`POST /api/v1/invoices/{id}/refunds/` (billing/api.py): parse, call the service, render."""
    serializer = RefundInput(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    refund = services.refund_create(
        invoice=invoice,
        amount=data["amount"],
        via=data["via"],
        iban=data["iban"],
        reason=data["reason"],
        day=clock.today(),
        actor=request.user,
    )
    refund = Refund.objects.select_related("invoice__customer", "credit_note").get(pk=refund.pk)
    return Response(RefundSerializer(refund).data, status=status.HTTP_201_CREATED)


REFUND_EXAMPLE = OpenApiExample(
    "40.00 of a paid invoice, by transfer",
    value={
        "amount": "40.00",
        "via": "transfer",
        "iban": "FR76 3000 6000 0112 3456 7890 189",
        "reason": "Two gateways returned",
    },
    request_only=True,
)
