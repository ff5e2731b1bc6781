from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = _("Catalog")

    def ready(self) -> None:
        from django.utils.translation import gettext, ngettext

        from catalog.core import i18n
        from config import lookups

        lookups.register()

        # The pure core's messages are translated into the language of the request.
        i18n.install(gettext, ngettext)
