"""One request computes at a time in each worker; the other threads only wait on their clients.

Scoring is CPU-bound and Python holds one interpreter lock per process. Four threads computing at once in
one worker did no more work than one, but every time one of them let the lock go (numpy, a socket write)
it waited up to a switch interval (5 ms) to get it back: batches lost a fifth of their throughput and
their p99 doubled against a single thread. The threads are there for slow clients (see gunicorn.conf.py),
so a request takes its turn only once its whole body has arrived: a client that stalls mid-body holds its
own thread, never the others' turn. A chunked body (no length) is read inside the app, so it skips the turn.
"""
from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterable
from typing import Any

WsgiApp = Callable[[dict, Callable[..., Any]], Iterable[bytes]]


class ComputeTurns:
    def __init__(self, inner: WsgiApp, max_body_bytes: int):
        self.inner, self.max_body_bytes = inner, max_body_bytes
        self.turn = threading.Lock()

    def __call__(self, environ: dict, start_response: Callable[..., Any]) -> Iterable[bytes]:
        raw_length = environ.get("CONTENT_LENGTH") or "0"
        try:
            length = int(raw_length)
        except ValueError:
            length = -1
        if not 0 <= length <= self.max_body_bytes or environ.get("HTTP_TRANSFER_ENCODING"):
            return self.inner(environ, start_response)  # the app answers (413, 400) or reads it itself
        if length:
            environ["wsgi.input"] = io.BytesIO(environ["wsgi.input"].read(length))
        with self.turn:
            return self.inner(environ, start_response)
