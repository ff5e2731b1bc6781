from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from django.utils.translation import get_language, gettext, ngettext

        from core import i18n

        # The pure core's messages are translated, and its amounts written, in the active
        # language (the request's, or the document's while an invoice is built or rendered).
        i18n.install(gettext, ngettext, get_language)
