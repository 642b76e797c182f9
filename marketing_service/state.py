"""What one marketing process holds for its requests, and the per-request database connection."""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from flask import current_app, g

from http_common.metrics import ServiceMetrics
from marketing_service.background import BackgroundLoop
from marketing_service.churn_client import ChurnClient
from marketing_service.config import MarketingConfig
from marketing_service.db import WriteQueue, connect
from marketing_service.suppression import Links


@dataclass
class MarketingState:
    config: MarketingConfig
    client: ChurnClient
    background: BackgroundLoop
    metrics: ServiceMetrics
    write_queue: WriteQueue
    links: Links


def state() -> MarketingState:
    return current_app.extensions["marketing"]


def request_db() -> sqlite3.Connection:
    """One connection per request (flaskr style), closed at teardown."""
    if "db" not in g:
        config = state().config
        g.db = connect(config.db_path, config.db_busy_timeout_ms, state().write_queue)
    return g.db


def close_db(_: BaseException | None = None) -> None:
    conn = g.pop("db", None)
    if conn is not None:
        conn.close()
