"""Translation hook for the pure core.

The core must not import Django, yet its refusal messages and period labels reach people.
Messages are written as `_("...")` and `ngettext(...)` (so makemessages finds them) and translated
at the moment they are used, through the functions that the catalog app installs when Django
starts (catalog.apps). Without Django they are returned untranslated.
"""

from collections.abc import Callable

_translate: Callable[[str], str] = lambda message: message  # noqa: E731
_translate_plural: Callable[[str, str, int], str] = lambda singular, plural, n: (  # noqa: E731
    singular if n == 1 else plural
)


def install(
    translate: Callable[[str], str], translate_plural: Callable[[str, str, int], str]
) -> None:
    global _translate, _translate_plural
    _translate = translate
    _translate_plural = translate_plural


def _(message: str) -> str:
    return _translate(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _translate_plural(singular, plural, n)
