"""A service in this test process (flaskr style: `create_app(config)` and Flask's test client), for what needs
no process of its own: 4xx matrices, error pages, documents. It answers like `requests` (status_code, headers,
text, json()), so a test reads the same whether its service runs here or under gunicorn."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.test import TestResponse

from marketing_service.auth.tokens import create_token
from marketing_service.config import MarketingConfig


def config_for(folder: Path, churn_url: str, **extra: Any) -> MarketingConfig:
    """Marketing's settings for a test: its database and mail under `folder`, no background loop unless asked."""
    settings: dict[str, Any] = {"churn_url": churn_url, "db_path": folder / "marketing.db", "mail_dir": folder / "mail",
                                "background": False, "churn_read_timeout": 2.0, "poll_interval": 0.1, **extra}
    return MarketingConfig(**settings)


class Answer:
    def __init__(self, response: TestResponse):
        self.status_code, self.headers = response.status_code, response.headers
        self.text = response.get_data(as_text=True)
        self._response = response

    def json(self) -> Any:
        return self._response.get_json(force=True)


def admin_token(app: Flask, role: str = "admin", name: str = "tests") -> str:
    """An API token made the way `python -m marketing_service tokens create` makes one, on the app's database."""
    conn = app.extensions["marketing"].storage.connect()
    try:
        return create_token(conn, name, role, "tests")
    finally:
        conn.close()


class InProcess:
    """Requests to a Flask app by path (`service.get("/api/offers")`), with `db` its SQLite file if it has one.
    With a `token`, every request carries it as a bearer token unless it sets an Authorization header itself
    (`headers={"Authorization": ""}`: an anonymous request)."""

    def __init__(self, app: Flask, db: Path | None = None, token: str | None = None):
        self.app, self.client, self.db, self.token = app, app.test_client(), db, token

    def _headers(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        headers = dict(kwargs.pop("headers", None) or {})
        if self.token and "Authorization" not in headers:
            headers["Authorization"] = f"Bearer {self.token}"
        if headers.get("Authorization") == "":
            del headers["Authorization"]
        return {**kwargs, "headers": headers}

    def get(self, path: str, **kwargs: Any) -> Answer:
        return Answer(self.client.get(path, **self._headers(kwargs)))

    def post(self, path: str, **kwargs: Any) -> Answer:
        return Answer(self.client.post(path, **self._headers(kwargs)))

    def delete(self, path: str, **kwargs: Any) -> Answer:
        return Answer(self.client.delete(path, **self._headers(kwargs)))
