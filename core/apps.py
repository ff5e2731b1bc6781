from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        # In ready(), as Django asks of an AppConfig: the app registry is being filled when this
        # module is imported, and the translation machinery is only used once it is.
        from django.utils.translation import get_language, gettext, ngettext  # noqa: PLC0415

        from core import i18n  # noqa: PLC0415

        # The pure core's messages are translated, and its amounts written, in the active
        # language (the request's, or the document's while an invoice is built or rendered).
        i18n.install(gettext, ngettext, get_language)
