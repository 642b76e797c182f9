"""One JSON error shape for every failure: `{"error": {"code", "message", "details"}}` (DESIGN §3)."""
from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import orjson
from flask import Flask, Request, Response, current_app, jsonify
from werkzeug.exceptions import HTTPException, InternalServerError, MethodNotAllowed, RequestEntityTooLarge

log = logging.getLogger(__name__)
MAX_DETAILS = 100


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, details: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details or []


def error_response(status: int, code: str, message: str, details: list[dict[str, Any]] | None = None) -> Response:
    response = jsonify({"error": {"code": code, "message": message, "details": (details or [])[:MAX_DETAILS]}})
    response.status_code = status
    return response


def _code_for(exc: HTTPException) -> str:
    return (exc.name or "error").lower().replace(" ", "_").replace("-", "_")


HtmlErrorPage = Callable[[HTTPException], "Response | None"]
HTML_PAGE_KEY = "http_common.html_error_page"


def error_or_page(exc: HTTPException, code: str, message: str) -> Response:
    """The app's page for `exc` when it has one for this request (a person's browser), else the JSON error."""
    html_page: HtmlErrorPage | None = current_app.extensions.get(HTML_PAGE_KEY)
    page = html_page(exc) if html_page is not None else None
    return page if page is not None else error_response(exc.code or 500, code, message)


def internal_error() -> Response:
    """The answer to a failure of ours; the caller logs it."""
    return error_or_page(InternalServerError(), "internal_error", "internal error; it has been logged")


def register_error_handlers(app: Flask, html_page: HtmlErrorPage | None = None) -> None:
    """JSON errors everywhere; `html_page` may answer instead (a page for a person), or return None."""
    if html_page is not None:
        app.extensions[HTML_PAGE_KEY] = html_page

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return error_response(exc.status, exc.code, exc.message, exc.details)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        response = error_or_page(exc, _code_for(exc), exc.description or exc.name)
        if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error")
        return internal_error()


def json_response(body: Any, status: int = 200) -> Response:
    """Like `jsonify`, through orjson: on a 1000-record batch, encoding is a real share of the work."""
    return current_app.response_class(orjson.dumps(body), status=status, mimetype="application/json")


def is_json_type(content_type: str) -> bool:
    """application/json or any application/*+json, parameters ignored."""
    mimetype = content_type.partition(";")[0].strip().lower()
    return mimetype == "application/json" or (mimetype.startswith("application/") and mimetype.endswith("+json"))


PARSED_BODY = "http_common.parsed_body"  # environ key: a body a WSGI layer already parsed (see parse_json)


def read_json(request: Request) -> Any:
    """The request body as JSON, or a 415/400 ApiError (413 past MAX_CONTENT_LENGTH); deep nesting and
    bad UTF-8 are 400, not 500. A body a layer in front of the app already parsed (churn's fast path, which
    leaves `(value,)` or its ApiError under PARSED_BODY) is not parsed again."""
    if not is_json_type(request.environ.get("CONTENT_TYPE", "")):
        raise ApiError(415, "unsupported_media_type", "send the body as application/json")
    length, limit = request.content_length, request.max_content_length
    if length is not None and limit is not None and length > limit:
        raise RequestEntityTooLarge()
    parsed = request.environ.get(PARSED_BODY)
    if isinstance(parsed, ApiError):
        raise parsed
    if parsed is not None:
        return parsed[0]
    if length is not None:
        # A declared length is read straight from the server's stream: werkzeug's wrappers around it
        # cost more than the JSON parsing on small requests.
        raw = request.environ["wsgi.input"].read(length)
    elif limit is not None:
        # Chunked: no length to refuse early. werkzeug's limited stream would end it silently at the limit
        # (a 400 "not valid JSON", or a 200 for a body whose first 8 MiB parse); one byte past the limit says
        # it was too large.
        raw = request.environ["wsgi.input"].read(limit + 1)
        if len(raw) > limit:
            raise RequestEntityTooLarge()
    else:
        raw = request.get_data(cache=False)
    return parse_json(raw)


def parse_json(raw: bytes) -> Any:
    """JSON through orjson, or through the standard library where orjson refuses what it reads (NaN and
    Infinity, which then get a 422 naming the field); a 400 ApiError for anything that is not JSON.

    The standard library also lets `"\\ud800"` through: a lone surrogate, text no UTF-8 answer, log line or
    database can hold. orjson refuses it, so only a body read here can carry one, and it is refused here,
    before anything counts, scores or stores the record."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, "malformed_json", f"the body is not valid JSON: {str(exc)[:200]}") from None
    where = _not_unicode(value)
    if where is not None:
        raise ApiError(400, "invalid_text", "the body holds text that is not valid Unicode (a lone surrogate)",
                       [{"field": where, "message": "is not valid Unicode: it holds a lone surrogate such as \\ud800"}])
    return value


def _not_unicode(value: Any) -> str | None:
    """Where the first string (key or value) that UTF-8 cannot encode is, as `customers[0].contract`; or None.
    A loop, not recursion: the body may nest as deep as the parser allowed."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, dict):
            for key, inner in item.items():
                named = f"{path}.{key}" if path else str(key)
                if not _encodes(key):
                    return named.encode("utf-8", "backslashreplace").decode()
                stack.append((named, inner))
        elif isinstance(item, list):
            stack.extend((f"{path}[{index}]", inner) for index, inner in enumerate(item))
        elif isinstance(item, str) and not _encodes(item):
            return path.encode("utf-8", "backslashreplace").decode() or "body"
    return None


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
