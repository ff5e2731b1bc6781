"""The API's one exception handler (REST_FRAMEWORK["EXCEPTION_HANDLER"]).

- A refusal of a service (`ApplicationError`) is a 400 with the field it names and the very
  message the pages show: `{"seats": ["Choose at least one seat."]}` (`"__all__"` when it names
  no field).
- A concurrent change that won (`ConflictError`) is a 409, same shape: retrying may succeed.
- A model constraint (Django `ValidationError`) is a 400 with its field errors.
- Everything else (404, 401, 403, 405, DRF validation) is DRF's own answer; a 400 is always
  field errors (a body that is not JSON: `{"__all__": ["JSON parse error…"]}`).
"""

from __future__ import annotations

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from core.errors import ApplicationError, ConflictError

NON_FIELD = NON_FIELD_ERRORS  # "__all__", as in ApplicationError.as_dict() and Django forms


def api_exception_handler(exc, context):
    if isinstance(exc, ConflictError):
        return Response(exc.as_dict(), status=status.HTTP_409_CONFLICT)
    if isinstance(exc, ApplicationError):
        return Response(exc.as_dict(), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DjangoValidationError):
        errors = exc.message_dict if hasattr(exc, "error_dict") else {NON_FIELD: list(exc.messages)}
        return Response(errors, status=status.HTTP_400_BAD_REQUEST)
    response = exception_handler(exc, context)
    if (
        response is not None
        and response.status_code == status.HTTP_400_BAD_REQUEST
        and isinstance(response.data, dict)
        and set(response.data) == {"detail"}
    ):
        # A 400 has one shape: field errors (a body that is not JSON, for one).
        response.data = {NON_FIELD: [str(response.data["detail"])]}
    return response
