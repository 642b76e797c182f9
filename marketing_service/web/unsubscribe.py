"""The unsubscribe pages (RFC 8058 one-click): every offer email links here; a POST suppresses the address."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request
from flask.typing import ResponseReturnValue

from marketing_service.mail.outbox import suppress
from marketing_service.state import request_db, state

unsubscribe = Blueprint("unsubscribe", __name__)


def _email_or_400(token: str) -> str:
    email = state().links.email_for(token)
    if email is None:
        abort(400, description="This unsubscribe link is not valid (it may have been altered). Nothing was changed.")
    return email


@unsubscribe.get("/unsubscribe/<token>")
def confirm(token: str) -> ResponseReturnValue:
    """A link opened in a browser only asks: mail scanners follow links, and must not unsubscribe anyone."""
    return render_template("unsubscribe.html", email=_email_or_400(token), token=token, done=False)


@unsubscribe.post("/unsubscribe/<token>")
def one_click(token: str) -> ResponseReturnValue:
    """RFC 8058: the mail client POSTs `List-Unsubscribe=One-Click`; the person's button posts the same."""
    email = _email_or_400(token)
    stopped = suppress(request_db(), email, "unsubscribe link")
    current_app.logger.info("unsubscribed an address (%d queued offers stopped)", stopped)
    if request.accept_mimetypes.best == "application/json":
        return {"status": "unsubscribed"}
    return render_template("unsubscribe.html", email=email, token=token, done=True)
