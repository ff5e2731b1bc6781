"""OpenAPI post-processing: document the errors every operation can answer, in their shapes.

- 400 and 409: field errors, `{"field": ["message"], "__all__": ["message"]}` — the messages
  the pages show (integrations/errors.py);
- 401, 403, 404, 406, 415, 422: `{"detail": "message"}`.
"""

from __future__ import annotations

FIELD_ERRORS = {
    "type": "object",
    "description": (
        "Errors by request field (`__all__`: not about one field), each a list of messages a "
        "person can act on."
    ),
    # A list of messages; for a field holding a mapping or a list of objects, the same shape
    # within (e.g. {"seats": {"gateway": ["…"]}}).
    "additionalProperties": {
        "anyOf": [
            {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "object"}]}},
            {"type": "object"},
        ]
    },
    "example": {"seats": ["Choose at least one seat."]},
}
DETAIL = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _response(name: str, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": _ref(name)}}}


def document_errors(result, generator, request, public):
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["FieldErrors"] = FIELD_ERRORS
    schemas["Detail"] = DETAIL
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})

            def add(code: str, name: str, description: str, responses=responses) -> None:
                responses.setdefault(code, _response(name, description))

            add("401", "Detail", "No token, or an invalid one.")
            add("403", "Detail", "The token's user is not an operator, a partner or a customer.")
            add("404", "Detail", "Not found (or another tenant's), or no such page.")
            add("406", "Detail", "The Accept header asks for a format the API does not give.")
            if method == "get":
                add("400", "FieldErrors", "A filter or the page size is invalid.")
            if method == "post":
                add("400", "FieldErrors", "Invalid input, or a rule refused the change.")
                add("415", "Detail", "The body is not JSON.")
                add("409", "FieldErrors", "A concurrent change won: retry.")
                header_names = {p.get("name") for p in operation.get("parameters", [])}
                if "Idempotency-Key" in header_names:
                    add("422", "Detail", "This Idempotency-Key was used for another request.")
    return result
