from django.apps import AppConfig


class DemoConfig(AppConfig):
    # No models, so no verbose name: nothing of it appears in the admin.
    name = "demo"
