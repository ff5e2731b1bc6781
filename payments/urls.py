"""/payments/: the gateways' doors — their webhooks, and the test gateway's 3-D Secure page."""

from django.urls import path

from payments import views

app_name = "payments"
urlpatterns = [
    path("webhooks/<slug:gateway>/", views.gateway_webhook, name="gateway_webhook"),
    path(
        "test-gateway/authenticate/<slug:payment_id>/",
        views.test_gateway_authenticate,
        name="test_gateway_authenticate",
    ),
]
