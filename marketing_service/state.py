"""What one marketing process holds for its requests, and the per-request database connection."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from flask import current_app, g

from http_common.metrics import ServiceMetrics
from marketing_service.churn_client import ChurnClient
from marketing_service.config import MarketingConfig
from marketing_service.mail.links import Links
from marketing_service.offers.rules import OfferRules
from marketing_service.storage import Connection, Storage


class Background(Protocol):
    """What requests may ask of the process's background loop (background.py, which sits above them)."""

    def kick(self) -> None:
        """Work now rather than at the next tick (a request just queued something)."""

    @property
    def status(self) -> str: ...


@dataclass
class MarketingState:
    config: MarketingConfig
    client: ChurnClient
    background: Background
    metrics: ServiceMetrics
    storage: Storage
    links: Links
    rules: OfferRules  # the form's and the API's offers: campaign CAMPAIGN, cooldown OFFER_COOLDOWN_DAYS


def state() -> MarketingState:
    found: MarketingState = current_app.extensions["marketing"]
    return found


def request_db() -> Connection:
    """One connection per request, given back at teardown: a SQLite connection kept idle by the worker's
    storage between requests, or a PostgreSQL one borrowed from the worker's pool."""
    if "db" not in g:
        g.db = state().storage.connect()
    conn: Connection = g.db
    return conn


def close_db(_: BaseException | None = None) -> None:
    conn = g.pop("db", None)
    if conn is not None:
        conn.close()
