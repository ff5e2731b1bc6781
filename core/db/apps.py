from django.apps import AppConfig


class CoreDbConfig(AppConfig):
    name = "core.db"
    label = "core_db"
    verbose_name = "Bulk database tools"

    def ready(self) -> None:
        from core.db import lookups

        lookups.register()
