"""Churn with one extra route, `GET /_sleep?<seconds>`, that sleeps: does the server cut a request that
outlives its timeout? (harness/server_guarantees.py `slow_request`; never served outside a check.)"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from churn_service import create_app as churn_app


def create_app() -> Callable[[dict, Callable[..., Any]], Iterable[bytes]]:
    inner = churn_app()

    def app(environ: dict, start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/_sleep":
            time.sleep(float(environ.get("QUERY_STRING") or 40))
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"slept\n"]
        return inner(environ, start_response)

    return app
