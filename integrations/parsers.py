"""The API's one body parser (REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"]): JSON, bounded.

- The body is at most API_MAX_BODY_BYTES, read no further.
- JSON nested deeper than MAX_DEPTH is refused before anything walks it: "[" × 50,000 raised a
  RecursionError and answered 500.
- No string, key or value, holds a control or invisible format character (core/text.py):
  a NUL byte reached PostgreSQL and answered 500 on a dozen endpoints. The refusal names the
  field (the top-level key) in the API's 400 shape.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import JSONParser

from core.text import forbidden_character, refusal_message

MAX_DEPTH = 32
NON_FIELD = "__all__"


class BoundedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.API_MAX_BODY_BYTES
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise ParseError(
                _("The request body is larger than %(limit)s bytes.") % {"limit": limit}
            )
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            data = json.loads(raw.decode(encoding))
        except RecursionError:
            raise ParseError(_("The JSON is nested too deeply.")) from None
        except ValueError as error:
            raise ParseError(_("JSON parse error - %(error)s") % {"error": error}) from None
        _check(data)
        return data


def _check(data) -> None:
    """Walk the parsed body without recursion: its depth, then its strings."""
    stack = [(data, 1, None)]
    while stack:
        value, depth, field = stack.pop()
        if depth > MAX_DEPTH:
            raise ParseError(
                _("The JSON is nested more than %(depth)s levels deep.") % {"depth": MAX_DEPTH}
            )
        if isinstance(value, str):
            _check_string(value, field)
        elif isinstance(value, dict):
            for key, item in value.items():
                here = field if field is not None else key
                _check_string(key, here)
                stack.append((item, depth + 1, here))
        elif isinstance(value, list):
            stack.extend((item, depth + 1, field) for item in value)


def _check_string(text: str, field: str | None) -> None:
    character = forbidden_character(text)
    if character is not None:
        key = field if field is not None and forbidden_character(field) is None else NON_FIELD
        raise ValidationError({key: [refusal_message(character)]})
