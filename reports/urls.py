"""The reports section's pages (operator only): under /admin/reports/, each view behind the
admin's own check (active staff, else the admin login page), included before the admin's URLs
in config/urls.py."""

from django.contrib import admin
from django.urls import path

from reports import views
from reports.views_fec import fec_export

app_name = "reports"
urlpatterns = [
    path("", admin.site.admin_view(views.report_index), name="index"),
    path("mrr/movements/", admin.site.admin_view(views.mrr_movements), name="mrr-movements"),
    # Before the catch-all report route, which would take "fec".
    path("fec/", admin.site.admin_view(fec_export), name="fec"),
    path("<slug:slug>/", admin.site.admin_view(views.report_detail), name="report"),
]
