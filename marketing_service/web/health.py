"""Health for machines: liveness, readiness (the database, the background loop, whether churn answers), and
`marketing_churn_up` for Prometheus."""
from __future__ import annotations

from collections.abc import Callable, Iterator

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from prometheus_client.core import GaugeMetricFamily

from http_common.errors import ApiError
from marketing_service.state import request_db, state

health = Blueprint("health", __name__)


@health.get("/healthz")
def healthz() -> ResponseReturnValue:
    return jsonify({"status": "ok"})


@health.get("/readyz")
def readyz() -> ResponseReturnValue:
    try:
        request_db().execute("SELECT 1 FROM customers LIMIT 1").fetchall()
    except Exception as exc:  # any database failure means not ready; say which
        raise ApiError(503, "not_ready", f"database unavailable: {type(exc).__name__}") from None
    background = state().background.status
    if background == "dead":
        raise ApiError(503, "not_ready", "the background loop stopped; pending records and offers are not processed")
    reachable, refused = state().client.check()
    if refused:  # churn answers but will never score for us as configured: pending records would wait forever
        raise ApiError(503, "not_ready", refused,
                       [{"field": "churn", "message": refused}])
    churn = "reachable" if reachable else "unreachable"
    return jsonify({"status": "ready", "database": "ok", "churn": churn, "background": background})


class ChurnUpCollector:
    """`marketing_churn_up`: 1 when churn's /readyz answers 200 from here, probed at scrape time, so the
    alert sees what marketing sees (one network, one DNS name) and no worker keeps a stale value."""

    def __init__(self, reachable: Callable[[], bool]):
        self.reachable = reachable

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily("marketing_churn_up", "")

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily("marketing_churn_up", "1 if the churn service answers /readyz from marketing",
                                value=1.0 if self.reachable() else 0.0)
