"""REST API of the storefront: temporary signed links to hosted pages.

`POST /api/v1/customers/{id}/hosted-pages/` with `{"page": "change_plan", "subscription": 12}`
or `{"page": "payment_methods"}`: 201 with the link's absolute address and its expiry (the
integrator sends it to its customer, who reaches that page without a login until then); 400 with
field errors for a page that does not exist, a plan change without its subscription, a
subscription that is not the customer's or that the customer may not change itself; 404 for a
customer the caller does not see (another partner's).
"""

from __future__ import annotations

from django.conf import settings
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.response import Response

from core.errors import ApplicationError
from integrations.filters import MAX_ID
from integrations.serializers import InputSerializer
from integrations.viewsets import TenantMixin
from storefront.models import HostedPageLink
from storefront.services.links import hosted_link_create
from subscriptions.models import Customer


class HostedPageInput(InputSerializer):
    page = serializers.ChoiceField(
        choices=HostedPageLink.Page.choices,
        help_text="change_plan: the plans a subscription may move to, with their prices, and "
        "the change; payment_methods: the customer's cards and SEPA mandates.",
    )
    subscription = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        min_value=1,
        max_value=MAX_ID,
        help_text="For change_plan (required): the id of the customer's subscription.",
    )


class HostedPageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    page = serializers.ChoiceField(choices=HostedPageLink.Page.choices)
    customer = serializers.IntegerField(source="customer_id")
    subscription = serializers.IntegerField(source="subscription_id", allow_null=True)
    url = serializers.SerializerMethodField(
        help_text="The link to send to the customer: whoever opens it reaches the page, without "
        "a login, until it expires."
    )
    expires_at = serializers.DateTimeField()

    def get_url(self, link: HostedPageLink) -> str:
        return settings.SITE_URL + self.context["path"]


@extend_schema_view(
    create=extend_schema(
        summary="A temporary link to a hosted page",
        description="A signed link that sends the customer to its plan change (for one "
        "subscription) or to its payment methods, without a login, for "
        "STOREFRONT_LINK_TTL_MINUTES (60 by default). Opened, it keeps working in that browser "
        "until it expires, for that page only.",
        tags=["customers"],
        parameters=[
            OpenApiParameter(
                "id", OpenApiTypes.INT, OpenApiParameter.PATH, description="Customer id."
            )
        ],
        request=HostedPageInput,
        responses={201: HostedPageSerializer},
    ),
)
class HostedPageViewSet(TenantMixin, viewsets.GenericViewSet):
    serializer_class = HostedPageSerializer
    queryset = Customer.objects.order_by("pk")

    def scoped(self, queryset):
        return self.tenant.customers(queryset)

    def create(self, request, id=None):
        customer = self.get_queryset().filter(pk=id).first()
        if customer is None:
            raise Http404
        serializer = HostedPageInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        subscription = None
        if data["subscription"] is not None:
            subscription = customer.subscriptions.filter(pk=data["subscription"]).first()
            if subscription is None:
                raise ApplicationError(
                    _("This customer has no subscription %(id)s.") % {"id": data["subscription"]},
                    field="subscription",
                )
        link, path = hosted_link_create(
            customer=customer, page=data["page"], subscription=subscription, actor=request.user
        )
        return Response(
            HostedPageSerializer(link, context={"path": path}).data, status=status.HTTP_201_CREATED
        )
