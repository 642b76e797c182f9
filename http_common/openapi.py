"""OpenAPI pieces both services' documents share."""
from __future__ import annotations

from typing import Any

# The one error shape of http_common.errors, as both documents declare it.
ERROR_SCHEMA: dict[str, Any] = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "object", "required": ["code", "message", "details"], "properties": {
        "code": {"type": "string"}, "message": {"type": "string"},
        "details": {"type": "array", "items": {"type": "object", "required": ["field", "message"], "properties": {
            "field": {"type": "string"}, "index": {"type": "integer"}, "message": {"type": "string"}}}}}}}}

# Answered by gunicorn itself (plain text) before the app sees the request; see limit_request_* settings.
SERVER_LIMIT_RESPONSES: dict[str, Any] = {
    "414": {"description": "request line too long (rejected by gunicorn)"},
    "431": {"description": "request headers too large (rejected by gunicorn)"},
}


def with_server_limits(document: dict[str, Any]) -> dict[str, Any]:
    """Every operation can meet gunicorn's limits, so every operation documents them."""
    for operations in document["paths"].values():
        for operation in operations.values():
            for status, response in SERVER_LIMIT_RESPONSES.items():
                operation["responses"].setdefault(status, response)
    return document
