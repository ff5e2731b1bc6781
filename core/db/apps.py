from django.apps import AppConfig


class CoreDbConfig(AppConfig):
    name = "core.db"
    label = "core_db"
    verbose_name = "Bulk database tools"

    def ready(self) -> None:
        # In ready(), as Django asks of an AppConfig: registering the lookup imports the model
        # field machinery (and django-money's, which reads the settings), not to be loaded while
        # the app registry is being filled.
        from core.db import lookups  # noqa: PLC0415

        lookups.register()
