"""POST /api/customers with a bearer token in plain WSGI: Flask's request machinery (its contexts, the session,
the hooks of every request) cost about a fifth of a submission's CPU, as much as storing it.

Only the ordinary request is answered here: a JSON body of declared length within MAX_BODY_MB, a bearer token
that `auth.tokens.token_user` knows with a role the route's own rule lets through (web/access.py's `may_call`),
and customers `parse_submission` accepts. Everything it answers goes through the route's own steps (the same
`submit`, the same body, status, headers and metrics). Anything else (no or another kind of credentials, a
refused token, a bad body or record, every other route) goes to the Flask app untouched, its body handed back
and its JSON kept under PARSED_BODY, so the app's door and handlers answer it exactly as before. Nothing is
stored before that choice is made; an exception while storing is answered by the app's own error handlers.
"""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask

from http_common.errors import ApiError, is_json_type
from http_common.front import hand_back, parse_for_app, read_declared
from http_common.metrics import STARTED_KEY
from marketing_service.auth.roles import default_role, may_call
from marketing_service.auth.tokens import token_user
from marketing_service.customers.intake import submit
from marketing_service.customers.records import Customer
from marketing_service.state import MarketingState
from marketing_service.storage import Connection
from marketing_service.web.api import parse_submission
from marketing_service.web.headers import CSP

log = logging.getLogger(__name__)
WsgiApp = Callable[[dict, Callable[..., Any]], Iterable[bytes]]
PATH, ENDPOINT = "/api/customers", "api.create_customers"
STATUS = {200: "200 OK", 202: "202 ACCEPTED"}
# What the Flask route's answer carries besides its body: web/headers.py's, and the Vary that Flask-Login's
# look at the session adds to every answer of the app.
HEADERS = [("Content-Type", "application/json"), ("Content-Security-Policy", CSP),
           ("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"), ("Referrer-Policy", "same-origin"),
           ("Vary", "Cookie")]


class FastSubmit:
    """Wraps the app's WSGI callable (outermost, in front of `instrument`); `inner` answers what this does not."""

    def __init__(self, app: Flask, inner: WsgiApp, state: MarketingState):
        self.app, self.inner, self.state = app, inner, state
        self.max_body_bytes = int(app.config["MAX_CONTENT_LENGTH"])
        view = app.view_functions[ENDPOINT]
        self.needed = getattr(view, "required_role", None) or default_role("POST")
        self.also: frozenset[str] = getattr(view, "also_roles", frozenset())

    def __call__(self, environ: dict, start_response: Callable[..., Any]) -> Iterable[bytes]:
        if (environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") != "POST"
                or not is_json_type(environ.get("CONTENT_TYPE", ""))):
            return self.inner(environ, start_response)
        scheme, _, token = (environ.get("HTTP_AUTHORIZATION") or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return self.inner(environ, start_response)
        started = time.perf_counter()
        raw = read_declared(environ, self.max_body_bytes)
        if raw is None:
            return self.inner(environ, start_response)
        results: list[dict[str, Any]] | None = None
        failure: Exception | None = None
        conn = self.state.storage.connect()
        try:
            try:
                customers = self._accepted(environ, conn, token, raw)
            except Exception:  # noqa: BLE001 - whatever it was, the app answers it (and logs a failure)
                log.debug("fast path declined a submission", exc_info=True)
                customers = None
            if customers is not None:
                try:
                    results = submit(conn, self.state.client, self.state.rules, customers)
                except Exception as exc:  # noqa: BLE001 - answered by the app's own handlers, as the route's is
                    failure = exc
        finally:
            conn.close()
        if results is None:
            hand_back(environ, raw)
            environ[STARTED_KEY] = started
            if failure is not None:
                return self._failed(environ, start_response, failure)
            return self.inner(environ, start_response)
        if any(r["offer"] for r in results):
            self.state.background.kick()
        status = 202 if any(r["status"] == "pending" for r in results) else 200
        # As Flask's JSON provider writes it (compact, ASCII, keys in order, a newline).
        body = (json.dumps({"customers": results}, ensure_ascii=True, separators=(",", ":")) + "\n").encode()
        start_response(STATUS[status], [*HEADERS, ("Content-Length", str(len(body)))])
        metrics = self.state.metrics
        metrics.request_counter("POST", PATH, str(status)).inc()
        metrics.latency_for("POST", PATH).observe(time.perf_counter() - started)
        return [body]

    def _accepted(self, environ: dict, conn: Connection, token: str, raw: bytes) -> list[Customer] | None:
        """The customers to store, or None when the app should answer (and say why)."""
        user = token_user(conn, token)
        if user is None or not may_call(user.role, self.needed, self.also):
            return None
        parsed = parse_for_app(environ, raw)
        if parsed is None:
            return None
        try:
            return parse_submission(parsed[0])
        except ApiError:
            return None

    def _failed(self, environ: dict, start_response: Callable[..., Any], exc: Exception) -> Iterable[bytes]:
        """The answer the route's exception gets from the app: its error handlers, then its after_request hooks
        (headers, metrics), as in `Flask.full_dispatch_request`; a handler's own failure is a 500 as there."""
        with self.app.request_context(environ):
            try:
                response = self.app.finalize_request(self.app.handle_user_exception(exc))
            except Exception as again:  # noqa: BLE001 - what Flask.wsgi_app does with it
                response = self.app.handle_exception(again)
            return response(environ, start_response)
