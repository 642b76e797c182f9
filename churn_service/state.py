"""What one churn process holds for its requests."""
from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import Counter, Histogram

from churn_service.config import ChurnConfig
from churn_service.drift.monitor import DriftMonitor
from churn_service.registry import ModelFollower
from churn_service.serving import Serving
from churn_service.shadow import ShadowScoring
from http_common.metrics import ServiceMetrics

PROBABILITY_BUCKETS = tuple(i / 10 for i in range(1, 11))


@dataclass
class ChurnState:
    """Everything a request needs, built once per process and hung on `app.extensions["churn"]`."""

    config: ChurnConfig
    serving: Serving  # replaced as a whole by the follower; read once per request
    metrics: ServiceMetrics
    predictions: Counter
    probabilities: Histogram
    openapi: dict
    drift: DriftMonitor
    shadow: ShadowScoring  # the challenger named by the registry's SHADOW, scored off the answer (DESIGN §13)
    follower: ModelFollower | None = None
    shadow_follower: ModelFollower | None = None

    def warnings(self) -> list[str]:
        return [*self.serving.model.warnings,
                *(refusal for follower in (self.follower, self.shadow_follower) if follower
                  for refusal in follower.refusals)]

    def stop(self) -> None:
        """End this process's background threads (in-process apps in tests; gunicorn workers just exit)."""
        for thread in (self.follower, self.shadow_follower, self.shadow):
            if thread is not None:
                thread.stop()

    def __post_init__(self) -> None:
        # Label children resolved once: a lookup per request is measurable at thousands of requests/s.
        self.churn_outcome = self.predictions.labels("churn")
        self.no_churn_outcome = self.predictions.labels("no_churn")
