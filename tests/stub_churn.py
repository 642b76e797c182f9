"""A stand-in for churn's wire protocol on 127.0.0.1 that answers whatever a test sets, to show how
marketing copes with replies the real churn should never give (a 422 for a record marketing accepted,
a 200 without the keys, a short batch). Everything else is tested against the real churn service."""
from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = Callable[[str, Any], tuple[int, Any]]


class StubChurn:
    def __init__(self, reply: Reply):
        self.reply = reply
        self.requests: list[tuple[str, Any]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                self._answer(200, {"status": "ready"})

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stub.requests.append((self.path, body))
                self._answer(*stub.reply(self.path, body))

            def _answer(self, status: int, body: Any) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> StubChurn:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def scored(probability: float = 0.9, version: str = "stub00000001") -> Reply:
    """Well-formed answers for /predict and /predict/batch."""
    def reply(path: str, body: Any) -> tuple[int, Any]:
        one = {"churn_probability": probability, "churn": probability >= 0.5}
        if path.startswith("/predict/batch"):
            return 200, {"predictions": [one for _ in body["customers"]], "model_version": version}
        return 200, {**one, "model_version": version}
    return reply
