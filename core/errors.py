"""The one error type for refusals.

A refusal carries a message a person can act on and, where it is about one input, the name of
that input. Interfaces map it in one place: to a form error, to an API 400 with field errors,
to an admin message. A refusal changes nothing: services raise it before writing, or inside the
transaction that it then rolls back.
"""

from __future__ import annotations


class ApplicationError(Exception):
    """A business rule refused the request."""

    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid"):
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code

    def __str__(self) -> str:
        return self.message

    def as_dict(self) -> dict[str, list[str]]:
        """Field errors, in the shape of Django forms and DRF: {"field" | "__all__": [...]}"""
        return {self.field or "__all__": [self.message]}


class ConflictError(ApplicationError):
    """A concurrent change won: retrying with fresh data may succeed (HTTP 409)."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message, field=field, code="conflict")
