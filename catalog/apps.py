from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = _("Catalog")

    def ready(self) -> None:
        from django.utils.translation import get_language, gettext, ngettext

        from catalog.core import i18n
        from config import lookups

        lookups.register()

        # The pure core's messages are translated, and its amounts written, in the active
        # language (the request's, or the document's while an invoice is built or rendered).
        i18n.install(gettext, ngettext, get_language)
