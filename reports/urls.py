"""The reports section's pages (operator only): under /admin/reports/, each view behind the
admin's own check (active staff, else the admin login page), included before the admin's URLs
in config/urls.py."""

from django.contrib import admin
from django.contrib.auth.decorators import permission_required
from django.urls import path

from reports import views
from reports.views_fec import fec_export

app_name = "reports"


def operators(view):
    """Staff (the admin's login page otherwise) who may read invoices (403 otherwise): the
    figures are the business's."""
    return admin.site.admin_view(
        permission_required("billing.view_invoice", raise_exception=True)(view)
    )


urlpatterns = [
    path("", operators(views.report_index), name="index"),
    path("mrr/movements/", operators(views.mrr_movements), name="mrr-movements"),
    # Before the catch-all report route, which would take "fec".
    path("fec/", operators(fec_export), name="fec"),
    path("<slug:slug>/", operators(views.report_detail), name="report"),
]
