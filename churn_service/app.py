"""App factory: load and verify the model once, then wire routes, errors and metrics."""
from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from flask import Flask
from prometheus_client import Counter, Histogram

from churn_service.config import ChurnConfig
from churn_service.drift.monitor import DriftCollector, DriftMonitor
from churn_service.registry import ModelFollower, current_model_path
from churn_service.serving import load_serving
from churn_service.shadow import ShadowScoring, ShadowStore
from churn_service.state import PROBABILITY_BUCKETS, ChurnState
from churn_service.web.compute_turns import ComputeTurns
from churn_service.web.fast_path import FastPredict
from churn_service.web.model_metrics import ModelCollector
from churn_service.web.openapi import openapi_document
from churn_service.web.routes import api
from churn_service.web.shadow_feed import shadow_feed
from churn_service.web.token_guard import TokenGuard
from http_common.errors import register_error_handlers
from http_common.metrics import ServiceMetrics, instrument


def create_app(config: ChurnConfig | None = None) -> Flask:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = config or ChurnConfig.from_env()
    model_path = current_model_path(config.model_registry) if config.model_registry else config.model_path
    serving = load_serving(model_path)
    metrics = ServiceMetrics(config.metrics_dir)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]  # DefaultJSONProvider's setting
    app.extensions["churn"] = ChurnState(
        config=config,
        serving=serving,
        metrics=metrics,
        predictions=Counter(
            "churn_predictions_total", "Predictions by outcome", ["outcome"], registry=metrics.registry
        ),
        probabilities=Histogram(
            "churn_probability", "Predicted churn probabilities", buckets=PROBABILITY_BUCKETS,
            registry=metrics.registry,
        ),
        openapi=openapi_document(config.max_batch),
        drift=DriftMonitor(config.drift_dir or Path(tempfile.mkdtemp(prefix="churn-drift-")), config.drift_window,
                           config.drift_min_records),
        shadow=shadow_scoring(config, metrics),
    )
    state = app.extensions["churn"]
    metrics.exposed.register(DriftCollector(state.drift, lambda: state.serving))
    metrics.exposed.register(ModelCollector(lambda: state.serving))
    if config.model_registry:
        state.follower = ModelFollower(config.model_registry, config.model_poll_seconds,
                                       lambda: state.serving, lambda new: setattr(state, "serving", new))
        state.follower.start()
        state.shadow_follower = ModelFollower(config.model_registry, config.model_poll_seconds,
                                              lambda: state.shadow.challenger,
                                              lambda new: setattr(state.shadow, "challenger", new),
                                              pointer="SHADOW", optional=True)
        state.shadow_follower.poll()  # a challenger named at start is scored from the first answer on
        state.shadow_follower.start()
        state.shadow.start()
    register_error_handlers(app)
    instrument(app, metrics)
    app.register_blueprint(api)
    app.register_blueprint(shadow_feed)
    app.wsgi_app = FastPredict(app.wsgi_app, state, config.max_body_bytes)  # type: ignore[method-assign]
    app.wsgi_app = ComputeTurns(app.wsgi_app, config.max_body_bytes)  # type: ignore[method-assign]
    if config.api_token:
        app.wsgi_app = TokenGuard(app.wsgi_app, config.api_token)  # type: ignore[method-assign]
    logging.getLogger(__name__).info(
        "serving model %s (%s scorer) from %s%s", serving.version, type(serving.scorer).__name__, model_path,
        f", following {config.model_registry}/CURRENT every {config.model_poll_seconds:g} s" if config.model_registry else "",
    )
    return app


def shadow_scoring(config: ChurnConfig, metrics: ServiceMetrics) -> ShadowScoring:
    """The worker's side of DESIGN §13's shadow: the store every worker shares, and its two counters."""
    store = ShadowStore(config.shadow_dir or Path(tempfile.mkdtemp(prefix="churn-shadow-")), config.shadow_keep)
    return ShadowScoring(
        store,
        Counter("churn_shadow_scored", "Records the SHADOW challenger scored", registry=metrics.registry),
        Counter("churn_shadow_dropped", "Records not shadow-scored: the queue was full or scoring failed",
                registry=metrics.registry),
    )
