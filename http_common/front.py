"""What a WSGI layer in front of a Flask app needs to answer the common request itself and hand anything else
on untouched: the body read once (only when its declared length is within the limit), parsed once, and given
back to the app as it came. Churn's fast /predict and marketing's fast submission both stand there.
"""
from __future__ import annotations

import io
from typing import Any

from http_common.errors import PARSED_BODY, ApiError, parse_json


def read_declared(environ: dict[str, Any], max_bytes: int) -> bytes | None:
    """The body, when the request declares a length within `max_bytes`; None (nothing read) otherwise: a
    chunked or oversized body is the app's to answer (and refuse)."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or -1)
    except ValueError:
        return None
    if not 0 <= length <= max_bytes:
        return None
    return environ["wsgi.input"].read(length)


def parse_for_app(environ: dict[str, Any], raw: bytes) -> tuple[Any] | None:
    """`(value,)` of the JSON body, or None when it is not JSON. Either way the outcome is left under
    PARSED_BODY, so the app, if it answers after all, does not parse again."""
    try:
        parsed = (parse_json(raw),)
    except ApiError as exc:
        environ[PARSED_BODY] = exc
        return None
    environ[PARSED_BODY] = parsed
    return parsed


def hand_back(environ: dict[str, Any], raw: bytes) -> None:
    """Put the body read by `read_declared` back, so the app reads it as the server sent it."""
    environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(raw), str(len(raw))
