"""REST API, partners (read-only): operators list every partner, a partner user sees its own
organisation, a customer user the partner that manages it (if any)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, viewsets

from integrations.serializers import PercentField
from integrations.viewsets import TenantMixin
from partners.models import Partner


class PartnerSerializer(serializers.ModelSerializer):
    discount_percent = PercentField()

    class Meta:
        model = Partner
        fields = ["id", "code", "name", "email", "discount_percent", "is_active"]


@extend_schema_view(
    list=extend_schema(summary="List partners", tags=["partners"]),
    retrieve=extend_schema(summary="A partner", tags=["partners"]),
)
class PartnerViewSet(TenantMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = PartnerSerializer
    queryset = Partner.objects.order_by("name", "id")

    def scoped(self, queryset):
        return queryset.filter(pk__in=self.tenant.partners().values("pk"))
