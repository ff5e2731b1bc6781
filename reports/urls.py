"""The reports section's pages (operator only)."""

from django.contrib import admin
from django.urls import path

from reports.views_fec import fec_export

app_name = "reports"
urlpatterns: list = [
    # admin_view: staff only, the admin's login page otherwise. Before any catch-all
    # "<slug:slug>/" report route, which would take "fec".
    path("fec/", admin.site.admin_view(fec_export), name="fec"),
]
