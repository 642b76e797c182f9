"""The door of every request (DESIGN §11): the open list, then a bearer token or a signed-in session, then
the route's role, and the CSRF token on every state change a session cookie makes, whatever its content type.

A route is closed unless named in OPEN; its role is what `auth.roles.requires` marked on the view, else
`default_role` of its method. So a route added without a thought is never open, and never writable by a
viewer (tests/integration/test_access_map.py walks the URL map to hold that).
"""
from __future__ import annotations

import re

from flask import Flask, current_app, g, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import LoginManager, UserMixin, current_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import Forbidden, HTTPException

from http_common.errors import ApiError, error_or_page, error_response
from marketing_service.auth.roles import at_least, default_role
from marketing_service.auth.tokens import token_user
from marketing_service.auth.users import User, find_user
from marketing_service.state import request_db
from marketing_service.web.errors import wants_html

# Reachable without signing in: probes, metrics, the unsubscribe links of offer emails, sign-in, static files.
OPEN = frozenset({"health.healthz", "health.readyz", "metrics", "unsubscribe.confirm", "unsubscribe.one_click",
                  "login.form", "login.sign_in", "static"})
CSRF_WHEN_OPEN = frozenset({"login.sign_in"})  # no one is signed in yet, but a forged sign-in is still refused
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def is_open(path: str, method: str) -> bool:
    """Whether a URL of the OpenAPI document (`{name}` for each parameter) reaches an OPEN route."""
    sample = re.sub(r"\{\w+\}", "1", path)
    try:
        endpoint, _ = current_app.url_map.bind("localhost").match(sample, method=method.upper())
    except HTTPException:
        return False
    return endpoint in OPEN


class SignedIn(UserMixin):
    """A user as Flask-Login keeps them in the session (their name is the session's user id)."""

    def __init__(self, user: User):
        self.user = user

    def get_id(self) -> str:
        return self.user.name


def load_user(name: str) -> SignedIn | None:
    """Each request re-reads the user, so disabling one ends their sessions at once."""
    user = find_user(request_db(), name)
    return SignedIn(user) if user is not None and not user.disabled else None


def unauthorized(message: str, error: str = "") -> ResponseReturnValue:
    """A person's browser goes to the sign-in page (and back after); a program gets DESIGN §11's 401."""
    if wants_html() and not error:
        return redirect(url_for("login.form", next=request.full_path.rstrip("?")), code=303)
    response = error_response(401, "unauthorized", message)
    response.headers["WWW-Authenticate"] = f'Bearer realm="marketing"{error}'
    return response


def bearer_token() -> str | None:
    """The token of an `Authorization: Bearer` header; "" for any other Authorization; None without one."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def check_csrf(csrf: CSRFProtect) -> None:
    """Flask-WTF's check (X-CSRFToken header or csrf_token field); a page re-renders on its CSRFError, a
    program gets a JSON answer that says what to send."""
    try:
        csrf.protect()
    except CSRFError as exc:
        if wants_html():
            raise
        raise ApiError(400, "csrf_failed", f"{exc.description} A call made with the session cookie must send the"
                       " page's csrf-token (its <meta name=\"csrf-token\">) as the X-CSRFToken header;"
                       " a script should use a bearer token instead.") from None


def check_access() -> ResponseReturnValue | None:
    """A before_request hook: None lets the request through; anything else is the answer."""
    endpoint = request.endpoint
    if endpoint is None:  # no route matched: routing's own 404 or 405 follows
        return None
    csrf: CSRFProtect = current_app.extensions["csrf"]
    if endpoint in OPEN:
        if endpoint in CSRF_WHEN_OPEN:
            check_csrf(csrf)
        return None
    token = bearer_token()
    if token is not None:
        user = token_user(request_db(), token) if token else None
        if user is None:
            return unauthorized("the bearer token is unknown or revoked", ', error="invalid_token"')
    elif current_user.is_authenticated:
        user = current_user.user
        if request.method not in SAFE_METHODS:
            check_csrf(csrf)
    else:
        return unauthorized("sign in, or send Authorization: Bearer <token> (python -m marketing_service tokens create)")
    g.user = user
    view = current_app.view_functions[endpoint]
    needed = getattr(view, "required_role", None) or default_role(request.method)
    if not at_least(user.role, needed):
        message = f"this needs the role {needed}; {user.name} is {user.role}"
        return error_or_page(Forbidden(message), "forbidden", message)
    return None


def signed_in_user() -> User | None:
    """For the pages' header: the request's user, if the door let one in."""
    return g.get("user")


def install_access(app: Flask) -> None:
    """Flask-Login for sessions, CSRF checked here (not on every request by Flask-WTF), the door in front."""
    manager = LoginManager(app)
    manager.user_loader(load_user)
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    CSRFProtect(app)
    app.before_request(check_access)
    app.context_processor(lambda: {"signed_in": signed_in_user()})
