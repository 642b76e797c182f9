"""Error pages for people. A browser that asks for HTML outside the API gets a page in the site's layout
with a way back, and a form refused for a stale security token or a busy database comes back with what
the marketer typed still in it. API clients (anything not preferring text/html) keep DESIGN §3's JSON."""
from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Response, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, ServiceUnavailable

from http_common.errors import error_or_page, internal_error
from marketing_service.web.pages import render_form, submitted_values

MACHINE_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/openapi.json"})
TITLES = {
    400: "This request could not be used",
    404: "Page not found",
    405: "This page can't be used that way",
    413: "Too much data",
    500: "Something went wrong on our side",
    503: "Busy right now",
}
FORM_NOTICES = {
    400: ("The form expired (its security token was missing or stale), so nothing was saved. "
          "Your entries are kept below: please submit again."),
    503: "The database was busy, so nothing was saved. Your entries are kept below: please submit again.",
}


def wants_html() -> bool:
    if request.path.startswith("/api/") or request.path in MACHINE_PATHS:
        return False
    accept = request.accept_mimetypes
    return accept["text/html"] > accept["application/json"]


def error_page(exc: HTTPException) -> Response | None:
    """The HTML answer to `exc` for a browser, or None to let the JSON handler answer."""
    if not wants_html():
        return None
    status = exc.code or 500
    refused_form = request.endpoint == "web.submit_form" and (isinstance(exc, CSRFError) or status == 503)
    if refused_form:
        return make_response(render_form(submitted_values(), {}, status, notice=FORM_NOTICES[status]))
    title = TITLES.get(status, exc.name)
    message = "The error has been logged." if status == 500 else exc.description
    return make_response(render_template("error.html", status=status, title=title, message=message), status)


def storage_busy(is_busy: Callable[[Exception], bool], exc: Exception) -> Response:
    """A database locked past the busy timeout (or, on PostgreSQL, a pool or lock wait that ran out, a
    deadlock, a server restarting) is a clear, retryable 503; nothing was half-written, since every write
    is one transaction. Other operational errors stay 500s (and are logged)."""
    if not is_busy(exc):
        logging.getLogger(__name__).exception("database error")
        return internal_error()
    message = "the database is busy; nothing was saved, please retry"
    response = error_or_page(ServiceUnavailable(message), "storage_busy", message)
    response.headers["Retry-After"] = "1"
    return response
