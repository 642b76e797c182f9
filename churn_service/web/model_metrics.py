"""`churn_model_test_auc{version}`: the served model's training test AUC, read from its manifest at scrape time,
so the realized-quality alert (DESIGN §13) can compare marketing's realized AUC with it. Computed per scrape
rather than set in a gauge, because in multiprocess mode a gauge set by each worker would need merging and
would keep a replaced model's value."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily

from churn_service.serving import Serving

NAME = "churn_model_test_auc"


def manifest_test_auc(manifest: dict[str, Any]) -> float | None:
    """`metrics.test_auc` when it is an AUC (a finite number from 0 to 1), else None: the load-time manifest
    check does not look at `metrics`, and a garbled value must cost the sample, not the whole scrape."""
    metrics = manifest.get("metrics")
    value = metrics.get("test_auc") if isinstance(metrics, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        return None  # NaN and infinities fail the range too; JSON's true/false are not numbers here
    return float(value)


class ModelCollector:
    def __init__(self, serving: Callable[[], Serving]):
        self.serving = serving  # the model serving now

    def describe(self) -> Iterator[GaugeMetricFamily]:
        """Names only, so registering the collector computes nothing."""
        yield GaugeMetricFamily(NAME, "", labels=["version"])

    def collect(self) -> Iterator[GaugeMetricFamily]:
        serving = self.serving()  # once: the version and the AUC belong to the same model
        gauge = GaugeMetricFamily(NAME, "test AUC the served model got in training (model.json metrics.test_auc)",
                                  labels=["version"])
        value = manifest_test_auc(serving.model.manifest)
        if value is not None:  # a model trained without a test AUC: no sample rather than a made-up one
            gauge.add_metric([serving.version], value)
        yield gauge
