"""The reports section's pages (operator only)."""

app_name = "reports"
urlpatterns: list = []
