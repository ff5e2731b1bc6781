"""Translation hook for the pure core.

The core must not import Django, yet its refusal messages and period labels reach people.
Messages are written as `_("...")` and `ngettext(...)` (so makemessages finds them) and translated
at the moment they are used, through the functions that the catalog app installs when Django
starts (catalog.apps), as is the active language that amounts are written in. Without Django
they are returned untranslated, and amounts written in English.
"""

from collections.abc import Callable

_translate: Callable[[str], str] = lambda message: message  # noqa: E731
_translate_plural: Callable[[str, str, int], str] = lambda singular, plural, n: (  # noqa: E731
    singular if n == 1 else plural
)
_language: Callable[[], str | None] = lambda: None  # noqa: E731


def install(
    translate: Callable[[str], str],
    translate_plural: Callable[[str, str, int], str],
    language: Callable[[], str | None] | None = None,
) -> None:
    global _translate, _translate_plural, _language
    _translate = translate
    _translate_plural = translate_plural
    if language is not None:
        _language = language


def _(message: str) -> str:
    return _translate(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _translate_plural(singular, plural, n)


def language() -> str | None:
    """The active language (None without Django): amounts are written in it (core.money)."""
    return _language()
