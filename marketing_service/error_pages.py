"""Error pages for people. A browser that asks for HTML outside the API gets a page in the site's layout
with a way back, and a form refused for a stale security token or a busy database comes back with what
the marketer typed still in it. API clients (anything not preferring text/html) keep DESIGN §3's JSON."""
from __future__ import annotations

from flask import Response, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from marketing_service.web import render_form, submitted_values

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
