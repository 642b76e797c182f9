"""Signing in and out (DESIGN §11): the form, the throttle on failures, a fresh session at each sign-in."""
from __future__ import annotations

from flask import Blueprint, make_response, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_user, logout_user

from http_common.errors import error_response
from marketing_service.auth.roles import requires
from marketing_service.auth.throttle import locked_for, record_failure
from marketing_service.auth.users import check_password
from marketing_service.state import request_db
from marketing_service.web.access import SignedIn
from marketing_service.web.errors import wants_html

login = Blueprint("login", __name__)
MAX_NAME = 200


def safe_next(target: str | None) -> str:
    """Only a path of this site: `next=//evil.example` or `https://...` would send the person elsewhere."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")) and "\\" not in target:
        return target
    return url_for("web.form")


def render_login(error: str | None, status: int, retry_after: int = 0) -> ResponseReturnValue:
    response = make_response(render_template("login.html", error=error, username=request.form.get("username", ""),
                                             next=request.values.get("next", "")), status)
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


@login.get("/login")
def form() -> ResponseReturnValue:
    return render_login(None, 200)


@login.post("/login")
def sign_in() -> ResponseReturnValue:
    username = request.form.get("username", "").strip()[:MAX_NAME]
    password = request.form.get("password", "")
    ip = request.remote_addr or "unknown"
    conn = request_db()
    wait = locked_for(conn, username, ip)
    if wait:
        message = f"Too many failed sign-ins; try again in {(wait + 59) // 60} minutes."
        if not wants_html():
            response = error_response(429, "too_many_attempts", message)
            response.headers["Retry-After"] = str(wait)
            return response
        return render_login(message, 429, wait)
    user = check_password(conn, username, password) if username and password else None
    if user is None:
        record_failure(conn, username, ip)
        return render_login("That name and password do not match an active user.", 401)
    session.clear()  # a new session (and CSRF token): nothing set before sign-in carries over
    login_user(SignedIn(user))
    session.permanent = True
    return redirect(safe_next(request.form.get("next")), code=303)


@login.post("/logout")
@requires("viewer")  # anyone signed in may sign out
def sign_out() -> ResponseReturnValue:
    logout_user()
    session.clear()
    return redirect(url_for("login.form"), code=303)
