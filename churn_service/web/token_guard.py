"""CHURN_API_TOKEN (DESIGN §11): the scoring, model and drift routes (and the OpenAPI document: every route
but the open ones) answer only `Authorization: Bearer <token>`; health, readiness and metrics stay open for
probes and Prometheus. Closed unless named open, so a route added later is never open by accident.

The outermost WSGI layer, so both the fast path and the Flask routes are behind the one check, and a caller
without the token costs no body read and no model work."""
from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable
from typing import Any

import orjson

WsgiApp = Callable[[dict, Callable[..., Any]], Iterable[bytes]]
OPEN = frozenset({"/healthz", "/readyz", "/metrics"})
REFUSAL = orjson.dumps({"error": {"code": "unauthorized", "details": [],
                                  "message": "send Authorization: Bearer <the CHURN_API_TOKEN of this service>"}})


def is_guarded(path: str) -> bool:
    return path not in OPEN


class TokenGuard:
    def __init__(self, inner: WsgiApp, token: str):
        self.inner, self.expected = inner, f"Bearer {token}".encode()

    def __call__(self, environ: dict, start_response: Callable[..., Any]) -> Iterable[bytes]:
        if is_guarded(environ.get("PATH_INFO", "")):
            given = environ.get("HTTP_AUTHORIZATION", "").encode("latin-1", "replace")
            if not hmac.compare_digest(given, self.expected):  # in constant time: no guessing it byte by byte
                start_response("401 UNAUTHORIZED", [("Content-Type", "application/json"),
                                                    ("WWW-Authenticate", 'Bearer realm="churn"'),
                                                    ("Content-Length", str(len(REFUSAL)))])
                return [REFUSAL]
        return self.inner(environ, start_response)
