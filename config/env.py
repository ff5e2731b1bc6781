"""Strict reading of environment variables.

Every setting that comes from the environment goes through one of these readers, so that a bad
value stops start-up with a message naming the variable and what it accepts, instead of silently
falling back to a default (django-environ treats DEBUG=ture as False, for instance).
"""

from __future__ import annotations

import os
import zoneinfo
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

import environ
from django.core.exceptions import ImproperlyConfigured
from moneyed import CurrencyDoesNotExist, get_currency

T = TypeVar("T")

SUPPORTED_DATABASE_ENGINES = {"django.db.backends.postgresql", "django.db.backends.sqlite3"}

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _bad(name: str, value: str, expected: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(
        f"Environment variable {name}={value!r} is invalid: expected {expected}."
    )


def raw(name: str) -> str | None:
    return os.environ.get(name)


def string(name: str, default: str) -> str:
    value = raw(name)
    return default if value is None else value


def boolean(name: str, default: bool) -> bool:
    value = raw(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise _bad(name, value, "one of true/false, yes/no, on/off, 1/0")


def integer(name: str, default: int, *, minimum: int | None = None) -> int:
    value = raw(name)
    if value is None:
        return default
    try:
        parsed = int(value.strip())
    except ValueError:
        raise _bad(name, value, "a whole number") from None
    if minimum is not None and parsed < minimum:
        raise _bad(name, value, f"a whole number of at least {minimum}")
    return parsed


def string_list(name: str, default: list[str]) -> list[str]:
    value = raw(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def choice(name: str, default: str, choices: list[str]) -> str:
    value = string(name, default)
    if value not in choices:
        raise _bad(name, value, "one of " + ", ".join(choices))
    return value


def time_zone(name: str, default: str) -> str:
    value = string(name, default)
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise _bad(name, value, "an IANA time zone such as Europe/Paris") from None
    return value


def currency(name: str, default: str) -> str:
    value = string(name, default).strip().upper()
    try:
        get_currency(value)
    except CurrencyDoesNotExist:
        raise _bad(name, value, "an ISO 4217 currency code such as EUR") from None
    return value


def decimal(name: str, default: str) -> Decimal:
    value = string(name, default)
    try:
        return Decimal(value)
    except ArithmeticError:
        raise _bad(name, value, "a decimal number") from None


def parsed(name: str, default: str, parser: Callable[[str], T], expected: str) -> T:
    value = string(name, default)
    try:
        return parser(value)
    except Exception:
        raise _bad(name, value, expected) from None


def database(name: str, default: str) -> dict:
    value = string(name, default)
    expected = "a postgres://user@host:5432/name or sqlite:///path URL"
    if not value.startswith(("postgres://", "postgresql://", "pgsql://", "sqlite:")):
        raise _bad(name, value, expected)
    try:
        config = environ.Env.db_url_config(value)
    except Exception:
        raise _bad(name, value, expected) from None
    if config.get("ENGINE") not in SUPPORTED_DATABASE_ENGINES or not config.get("NAME"):
        raise _bad(name, value, expected)
    return config


def email(name: str, default: str) -> dict:
    value = string(name, default)
    try:
        config = environ.Env.email_url_config(value)
    except Exception:
        raise _bad(name, value, "an email URL such as smtp+tls://user:pass@host:587") from None
    if not config.get("EMAIL_BACKEND"):
        raise _bad(name, value, "an email URL with scheme smtp, smtp+tls, smtp+ssl or consolemail")
    return config


def read_defaults(path: Path) -> None:
    """Take the `NAME=value` lines of `path` (when it exists) as defaults: a variable already in
    the environment keeps its value. `make setup` writes the development defaults there
    (var/.env), so that manage.py run by hand behaves as under make."""
    if not path.is_file():
        return
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.strip().isidentifier():
            raise ImproperlyConfigured(
                f"Environment variable file {path}, line {number}: expected NAME=value."
            )
        os.environ.setdefault(name.strip(), value.strip())
