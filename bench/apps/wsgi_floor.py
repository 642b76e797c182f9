"""The cost of HTTP itself: a bare WSGI callable with a constant JSON answer."""
from collections.abc import Callable, Iterable

BODY = b'{"churn_probability": 0.5, "churn": true, "model_version": "constant"}'
HEADERS = [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))]


def create_app() -> Callable[..., Iterable[bytes]]:
    def app(environ: dict, start_response: Callable) -> Iterable[bytes]:
        start_response("200 OK", HEADERS)
        return [BODY]

    return app
