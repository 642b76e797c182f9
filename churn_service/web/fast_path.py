"""POST /predict for the ordinary request in plain WSGI: Flask's request machinery cost more than the scoring.

Only the common case is answered here: a JSON body of declared length within the limit, no query string or
just `explain=true` (what marketing sends), and a record the canonical parser accepts. The answer comes from
the same score → decide → answer step as the Flask route's (answer.py). Anything else (a bad body, another
query, a chunked upload, every other route) goes to the Flask app, with the body handed back untouched and
what was learnt of it kept in the environ: the parsed JSON (or why it is not JSON), and that it is not in
canonical form, so the Flask route neither parses it again nor tries the canonical parser twice.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

import orjson

from churn_service.state import ChurnState
from churn_service.web.answer import answer_records
from feature_contract import parse_canonical
from http_common.errors import is_json_type
from http_common.front import hand_back, parse_for_app, read_declared

log = logging.getLogger(__name__)
WsgiApp = Callable[[dict, Callable[..., Any]], Iterable[bytes]]
JSON_HEADER = ("Content-Type", "application/json")
EXPLAIN = "explain=true"
NOT_CANONICAL = "churn.not_canonical"  # environ key: the fast path found the record not in canonical form


class FastPredict:
    """Wraps the Flask app's WSGI callable; `inner` answers whatever this does not."""

    def __init__(self, inner: WsgiApp, state: ChurnState, max_body_bytes: int):
        self.inner, self.state, self.max_body_bytes = inner, state, max_body_bytes
        self.counted = state.metrics.request_counter("POST", "/predict", "200")
        self.timed = state.metrics.latency_for("POST", "/predict")

    def __call__(self, environ: dict, start_response: Callable[..., Any]) -> Iterable[bytes]:
        if (environ.get("PATH_INFO") != "/predict" or environ.get("REQUEST_METHOD") != "POST"
                or environ.get("QUERY_STRING", "") not in ("", EXPLAIN)
                or not is_json_type(environ.get("CONTENT_TYPE", ""))):
            return self.inner(environ, start_response)
        started = time.perf_counter()
        raw = read_declared(environ, self.max_body_bytes)
        if raw is None:
            return self.inner(environ, start_response)
        try:
            payload = self._answer(environ, raw, explain=bool(environ.get("QUERY_STRING")))
        except Exception:  # noqa: BLE001 - whatever it was, the Flask route answers it (and logs a failure)
            log.debug("fast path declined a request", exc_info=True)
            payload = None
        if payload is None:
            hand_back(environ, raw)
            return self.inner(environ, start_response)
        start_response("200 OK", [JSON_HEADER, ("Content-Length", str(len(payload)))])
        self.counted.inc()
        self.timed.observe(time.perf_counter() - started)
        return [payload]

    def _answer(self, environ: dict, raw: bytes, explain: bool) -> bytes | None:
        """The response body for a canonical record, or None to let the Flask route decide."""
        parsed = parse_for_app(environ, raw)
        if parsed is None:
            return None
        body = parsed[0]
        record = parse_canonical(body) if type(body) is dict else None
        if record is None:
            environ[NOT_CANONICAL] = True
            return None
        serving = self.state.serving  # once: the model that scores is the model reported
        [answer] = answer_records(self.state, serving, [record], explain)
        answer["model_version"] = serving.version
        return orjson.dumps(answer)
