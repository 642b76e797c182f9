"""The admin page (DESIGN §11): users and API tokens, the same operations as `python -m marketing_service`."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from marketing_service.auth.current import actor
from marketing_service.auth.passwords import WeakPassword
from marketing_service.auth.roles import ROLES, TOKEN_ROLES, InvalidRole, requires
from marketing_service.auth.tokens import create_token, list_tokens, revoke_token
from marketing_service.auth.users import UserError, add_user, disable_user, list_users
from marketing_service.state import request_db

admin = Blueprint("admin", __name__)
REFUSALS = (UserError, InvalidRole, WeakPassword)


def render_admin(status: int = 200, error: str | None = None, new_token: str | None = None) -> ResponseReturnValue:
    conn = request_db()
    return render_template("admin.html", users=list_users(conn), tokens=list_tokens(conn), roles=ROLES,
                           token_roles=TOKEN_ROLES, error=error, new_token=new_token,
                           token_name=request.form.get("name", "")), status


@admin.get("/admin")
@requires("admin")
def page() -> ResponseReturnValue:
    return render_admin()


@admin.post("/admin/users")
@requires("admin")
def new_user() -> ResponseReturnValue:
    form = request.form
    try:
        add_user(request_db(), form.get("name", "").strip(), form.get("role", ""), form.get("password", ""), actor())
    except REFUSALS as exc:
        return render_admin(422, str(exc))
    return redirect(url_for("admin.page"), code=303)


@admin.post("/admin/users/<name>/disable")
@requires("admin")
def disable(name: str) -> ResponseReturnValue:
    try:
        disable_user(request_db(), name)
    except UserError as exc:
        return render_admin(404, str(exc))
    return redirect(url_for("admin.page"), code=303)


@admin.post("/admin/tokens")
@requires("admin")
def new_token() -> ResponseReturnValue:
    """Shown on this answer only (not after a redirect): the token is never stored or shown again."""
    try:
        token = create_token(request_db(), request.form.get("name", "").strip(), request.form.get("role", ""), actor())
    except REFUSALS as exc:
        return render_admin(422, str(exc))
    return render_admin(201, new_token=token)


@admin.post("/admin/tokens/<name>/revoke")
@requires("admin")
def revoke(name: str) -> ResponseReturnValue:
    try:
        revoke_token(request_db(), name)
    except UserError as exc:
        return render_admin(404, str(exc))
    return redirect(url_for("admin.page"), code=303)
