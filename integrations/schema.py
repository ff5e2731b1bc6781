"""OpenAPI post-processing: the schema says what the API does (schemathesis checks both ways).

Bounds the code enforces in one place are written here once for every operation:
- a path id is a whole number from 1 (a 64-bit key): anything else is not found;
- a query parameter given has a value (integrations/viewsets.py);
- every text of a request body, and every key of its mappings, holds no control or invisible
  character (integrations/parsers.py refuses them, core/text.py says which);
- a request body holds only the fields the operation takes (InputSerializer refuses others).

The errors every operation can answer, in their shapes:

- 400 and 409: field errors, `{"field": ["message"], "__all__": ["message"]}` — the messages
  the pages show (integrations/errors.py);
- 401, 403, 404, 406, 415, 422: `{"detail": "message"}`.
"""

from __future__ import annotations

from core.text import printable_pattern
from integrations.filters import MAX_ID

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


def _printable(schema, schemas: dict, seen: set[str]) -> None:
    """Bound a request schema, recursively: printable strings and keys, no unknown field."""
    if not isinstance(schema, dict):
        return
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name not in seen:
            seen.add(name)
            _printable(schemas.get(name), schemas, seen)
        return
    if schema.get("type") == "string" and not {"enum", "format", "pattern"} & set(schema):
        schema["pattern"] = printable_pattern()
    if schema.get("type") == "object" and "additionalProperties" not in schema:
        schema["additionalProperties"] = False  # integrations.serializers.InputSerializer
    if isinstance(schema.get("additionalProperties"), dict):
        schema.setdefault("propertyNames", {"pattern": printable_pattern()})
        _printable(schema["additionalProperties"], schemas, seen)
    for child in schema.get("properties", {}).values():
        _printable(child, schemas, seen)
    _printable(schema.get("items"), schemas, seen)
    for key in ("allOf", "anyOf", "oneOf"):
        for child in schema.get(key, []):
            _printable(child, schemas, seen)


def bound_inputs(result, generator, request, public):
    schemas = result.get("components", {}).get("schemas", {})
    seen: set[str] = set()
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                schema = parameter["schema"]
                if parameter["in"] == "path" and schema.get("type") == "integer":
                    schema.update(minimum=1, maximum=MAX_ID)
                if parameter["in"] == "query" and schema.get("type") == "string":
                    schema.setdefault("minLength", 1)  # integrations/viewsets.py
            for content in operation.get("requestBody", {}).get("content", {}).values():
                _printable(content.get("schema"), schemas, seen)
    return result


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
