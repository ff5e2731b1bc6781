from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from partners.home import home
from partners.passwords import PasswordResetConfirmView, PasswordResetView

admin.site.site_header = "Cadence"
admin.site.site_title = "Cadence"
admin.site.index_title = _("Back office")

urlpatterns = [
    path("", home, name="home"),
    # Django's password reset, with the email in the person's language (partners/passwords.py).
    path("accounts/password_reset/", PasswordResetView.as_view(), name="password_reset"),
    path(
        "accounts/reset/<uidb64>/<token>/",
        PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    # Before the admin's own URLs, whose catch-all would answer 404 (reports/urls.py).
    path("admin/reports/", include("reports.urls")),
    path("admin/", admin.site.urls),
    path("partners/", include("partners.urls")),
    path("account/", include("subscriptions.urls")),
    path("api/", include("integrations.urls")),
    path("payments/", include("payments.urls")),
    path("offers/", include("storefront.urls")),
]
