"""The door of every request (DESIGN §11): the open list, then a bearer token or a signed-in session, then
the route's role, and the CSRF token on every state change a session cookie makes, whatever its content type.

A route is closed unless named in OPEN; its role is what `auth.roles.requires` marked on the view (the ladder's
role, and any outside it the view names: `webhook` for the mail events), else `default_role` of its method. A view
marked `token_in_basic` also takes the token as the password of HTTP Basic (DESIGN §12). So a route added without
a thought is never open, and never writable by a viewer (tests/integration/test_access_map.py walks the URL map to
hold that).
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

from flask import Flask, current_app, g, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import LoginManager, UserMixin, current_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import Forbidden, HTTPException

from http_common.errors import ApiError, error_or_page, error_response
from marketing_service.auth.roles import WEBHOOK, default_role, may_call
from marketing_service.auth.tokens import token_user
from marketing_service.auth.users import User, find_user
from marketing_service.state import request_db
from marketing_service.web.errors import wants_html

# Reachable without signing in: probes, metrics, the unsubscribe links of offer emails, sign-in, static files.
OPEN = frozenset({"health.healthz", "health.readyz", "metrics", "unsubscribe.confirm", "unsubscribe.one_click",
                  "login.form", "login.sign_in", "static"})
CSRF_WHEN_OPEN = frozenset({"login.sign_in"})  # no one is signed in yet, but a forged sign-in is still refused
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
F = TypeVar("F", bound=Callable[..., object])


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


def unauthorized(message: str, error: str = "", basic: bool = False) -> ResponseReturnValue:
    """A person's browser goes to the sign-in page (and back after); a program gets DESIGN §11's 401. Where
    HTTP Basic is taken, a second challenge says so: Amazon SNS sends the credentials of its URL only when asked."""
    if wants_html() and not error:
        return redirect(url_for("login.form", next=request.full_path.rstrip("?")), code=303)
    response = error_response(401, "unauthorized", message)
    response.headers["WWW-Authenticate"] = f'Bearer realm="marketing"{error}'
    if basic:
        response.headers.add("WWW-Authenticate", 'Basic realm="marketing", charset="UTF-8"')
    return response


def token_in_basic(view: F) -> F:
    """Mark a view that also takes the token as the password of HTTP Basic (any user name): what a mail provider
    can send from a webhook URL (`https://x:TOKEN@host/...`). Only there: a browser that once opened such a URL
    sends it by itself, so elsewhere it would stand in for a session without its CSRF check."""
    view.token_in_basic = True  # type: ignore[attr-defined]
    return view


def presented_token(basic: bool) -> str | None:
    """The token of an `Authorization: Bearer` header, or with `basic` the password of a Basic one; "" for any
    other Authorization; None without one."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer":
        return token.strip()
    credentials = request.authorization if basic and scheme.lower() == "basic" else None
    return (credentials.password or "") if credentials is not None else ""


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
    view = current_app.view_functions[endpoint]
    basic = getattr(view, "token_in_basic", False)
    token = presented_token(basic)
    if token is not None:
        user = token_user(request_db(), token) if token else None
        if user is None:
            return unauthorized(f"the {'token' if basic else 'bearer token'} is unknown or revoked",
                                ', error="invalid_token"', basic)
    elif current_user.is_authenticated:
        user = current_user.user
        if request.method not in SAFE_METHODS:
            check_csrf(csrf)
    else:
        also = " (or the token as the password of HTTP Basic)" if basic else ""
        return unauthorized(f"sign in, or send Authorization: Bearer <token>{also} (python -m marketing_service tokens"
                            " create)", basic=basic)
    g.user = user
    needed = getattr(view, "required_role", None) or default_role(request.method)
    if not may_call(user.role, needed, getattr(view, "also_roles", frozenset())):
        message = f"this needs the role {needed}; {user.name} is {user.role}"
        if user.role == WEBHOOK:
            message += f" (a {WEBHOOK} token may only POST /api/mail-events)"
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
