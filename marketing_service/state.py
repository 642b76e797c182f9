"""What one marketing process holds for its requests, and the per-request database connection."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app, g

from http_common.metrics import ServiceMetrics
from marketing_service.backends import Storage
from marketing_service.background import BackgroundLoop
from marketing_service.churn_client import ChurnClient
from marketing_service.config import MarketingConfig
from marketing_service.suppression import Links


@dataclass
class MarketingState:
    config: MarketingConfig
    client: ChurnClient
    background: BackgroundLoop
    metrics: ServiceMetrics
    storage: Storage
    links: Links


def state() -> MarketingState:
    return current_app.extensions["marketing"]


def request_db() -> Any:
    """One connection per request, given back at teardown: a SQLite connection kept idle by the worker's
    storage between requests, or a PostgreSQL one borrowed from the worker's pool."""
    if "db" not in g:
        g.db = state().storage.connect()
    return g.db


def close_db(_: BaseException | None = None) -> None:
    conn = g.pop("db", None)
    if conn is not None:
        conn.close()
