"""Prometheus metrics that stay correct when gunicorn runs several worker processes.

Under gunicorn, `PROMETHEUS_MULTIPROC_DIR` is set (see `gunicorn_hooks`) and every worker writes its
samples there; `/metrics` merges them, so any worker answers with the whole service's counts.
"""
from __future__ import annotations

import time
from functools import lru_cache
from typing import Any

from flask import Flask, Response, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

STARTED_KEY = "http_common.started"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class ServiceMetrics:
    """Holds the registry metrics are created in and the one `/metrics` exposes."""

    def __init__(self, multiprocess_dir: str | None = None) -> None:
        """`multiprocess_dir`: PROMETHEUS_MULTIPROC_DIR as the service's config read it (set under gunicorn)."""
        self.registry = CollectorRegistry()
        if multiprocess_dir:
            self.exposed = CollectorRegistry()
            MultiProcessCollector(self.exposed)
        else:
            self.exposed = self.registry
        self.requests = Counter(
            "http_requests_total", "HTTP requests by route and status", ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds", "HTTP request latency by route", ["method", "route"],
            buckets=LATENCY_BUCKETS, registry=self.registry,
        )

        # Label children resolved once per label set: the lookup costs more than the increment.
        self.request_counter = lru_cache(maxsize=512)(self.requests.labels)
        self.latency_for = lru_cache(maxsize=512)(self.latency.labels)

    def render(self) -> Response:
        return Response(generate_latest(self.exposed), mimetype=CONTENT_TYPE_LATEST)


def instrument(app: Flask, metrics: ServiceMetrics) -> None:
    """Count and time every request; unmatched paths and unknown methods share one label each, so scans
    cannot blow up the number of series."""

    inner = app.wsgi_app

    def timed(environ: dict, start_response: Any) -> Any:
        # Stamped in plain WSGI, cheaper than a Flask before_request hook on every request.
        environ[STARTED_KEY] = time.perf_counter()
        return inner(environ, start_response)

    app.wsgi_app = timed  # type: ignore[method-assign]

    @app.after_request
    def _record(response: Response) -> Response:
        started = request.environ.get(STARTED_KEY)
        route = request.url_rule.rule if request.url_rule else "unmatched"
        method = request.method if request.method in KNOWN_METHODS else "other"
        metrics.request_counter(method, route, str(response.status_code)).inc()
        if started is not None:
            metrics.latency_for(method, route).observe(time.perf_counter() - started)
        return response

    app.add_url_rule("/metrics", "metrics", metrics.render, methods=["GET"])
