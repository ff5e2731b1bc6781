"""/api/: the REST API (v1), its OpenAPI schema and documentation (no CDN: sidecar assets)."""

from django.http import JsonResponse
from django.urls import include, path, re_path
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerView,
)
from rest_framework.routers import SimpleRouter

from billing.api import EInvoiceViewSet, InvoiceViewSet
from catalog.api import (
    BillableMetricViewSet,
    BundleViewSet,
    PlanViewSet,
    ProductContractViewSet,
    TermViewSet,
)
from partners.api import PartnerViewSet
from payments.api import (
    CardPaymentViewSet,
    CustomerCreditViewSet,
    PaymentMethodViewSet,
    ReceivedPaymentViewSet,
    RefundViewSet,
)
from reports.api import EXPORT_VIEWSETS
from reports.api_figures import MovementsView, MrrView
from storefront.api import HostedPageViewSet
from subscriptions.api import CustomerViewSet, SubscriptionViewSet, UsageEventViewSet

app_name = "api"

router = SimpleRouter()
router.register("plans", PlanViewSet, basename="plan")
router.register("bundles", BundleViewSet, basename="bundle")
router.register("terms", TermViewSet, basename="term")
router.register("product-contracts", ProductContractViewSet, basename="product-contract")
router.register("billable-metrics", BillableMetricViewSet, basename="billable-metric")
router.register("partners", PartnerViewSet, basename="partner")
router.register("customers", CustomerViewSet, basename="customer")
router.register("subscriptions", SubscriptionViewSet, basename="subscription")
router.register("usage-events", UsageEventViewSet, basename="usage-event")
router.register("invoices", InvoiceViewSet, basename="invoice")
router.register("einvoices", EInvoiceViewSet, basename="einvoice")
router.register("payment-methods", PaymentMethodViewSet, basename="payment-method")
router.register("refunds", RefundViewSet, basename="refund")
router.register("card-payments", CardPaymentViewSet, basename="card-payment")
router.register("payments", ReceivedPaymentViewSet, basename="payment")
router.register(
    r"customers/(?P<id>[0-9]+)/credit", CustomerCreditViewSet, basename="customer-credit"
)
router.register(
    r"customers/(?P<id>[0-9]+)/hosted-pages", HostedPageViewSet, basename="customer-hosted-page"
)
for export_viewset in EXPORT_VIEWSETS:
    key = export_viewset.dataset_key
    router.register(f"exports/{key}", export_viewset, basename=f"export-{key}")


@csrf_exempt  # the API authenticates by token: no form, no CSRF cookie
def not_found(request, *args, **kwargs) -> JsonResponse:
    """Any other address under /api/ (an id that is not a number…): a JSON 404, like the API's."""
    return JsonResponse({"detail": _("Not found.")}, status=404)


urlpatterns = [
    path("v1/reports/mrr/", MrrView.as_view(), name="report-mrr"),
    path("v1/reports/mrr/movements/", MovementsView.as_view(), name="report-mrr-movements"),
    path("v1/", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path(
        "redoc/",
        SpectacularRedocView.as_view(
            url_name="api:schema", template_name="integrations/redoc.html"
        ),
        name="redoc",
    ),
    # Paths ending in a slash only: without one, CommonMiddleware first adds it (APPEND_SLASH).
    re_path(r"^v1/(?:.*/)?$", not_found),
]
