"""What one churn process holds for its requests."""
from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import Counter, Histogram

from churn_service.artifact import LoadedModel
from churn_service.config import ChurnConfig
from churn_service.scoring import Scorer
from http_common.metrics import ServiceMetrics

PROBABILITY_BUCKETS = tuple(i / 10 for i in range(1, 11))


@dataclass
class ChurnState:
    """Everything a request needs, built once per process and hung on `app.extensions["churn"]`."""

    config: ChurnConfig
    model: LoadedModel
    scorer: Scorer
    metrics: ServiceMetrics
    predictions: Counter
    probabilities: Histogram
    openapi: dict

    def __post_init__(self) -> None:
        # Label children resolved once: a lookup per request is measurable at thousands of requests/s.
        self.churn_outcome = self.predictions.labels("churn")
        self.no_churn_outcome = self.predictions.labels("no_churn")
