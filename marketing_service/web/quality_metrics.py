"""Realized model quality for Prometheus (DESIGN §13), computed at scrape time from the labelled decisions in the
database, so every worker and instance reports the same numbers and none keeps state of its own."""
from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import GaugeMetricFamily

from marketing_service.customers.outcomes import realized_by_version
from marketing_service.storage import Connection

GAUGES = (("auc", "realized AUC on untreated labelled customers, weighted by 1 / (1 − propensity)"),
          ("brier", "realized Brier score, same rows and weights"),
          ("ece", "realized expected calibration error (10 equal-width bins), same rows and weights"))


class QualityCollector:
    def __init__(self, connect: Callable[[], Connection]):
        self.connect = connect

    def describe(self) -> Iterator[GaugeMetricFamily]:
        for name, _ in GAUGES:
            yield GaugeMetricFamily(f"marketing_model_realized_{name}", "", labels=["version"])
        yield GaugeMetricFamily("marketing_model_labelled_rows", "", labels=["version"])

    def collect(self) -> Iterator[GaugeMetricFamily]:
        conn = self.connect()
        try:
            by_version = realized_by_version(conn)
        finally:
            conn.close()
        for name, help_text in GAUGES:
            gauge = GaugeMetricFamily(f"marketing_model_realized_{name}", help_text, labels=["version"])
            for version, quality in by_version.items():
                value = quality[name]  # type: ignore[literal-required]
                if value is not None:  # no AUC while a class is missing: no sample rather than a made-up one
                    gauge.add_metric([version], float(value))
            yield gauge
        rows = GaugeMetricFamily("marketing_model_labelled_rows", "untreated labelled rows the realized numbers use",
                                 labels=["version"])
        for version, quality in by_version.items():
            rows.add_metric([version], float(quality["n"]))
        yield rows
