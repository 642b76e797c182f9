"""What marketing tells Prometheus beyond request counts: whether it can reach churn right now."""
from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import GaugeMetricFamily


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
