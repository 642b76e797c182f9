"""One worker's side of drift monitoring: record each scored record's bins and probability, answer `/drift`
(with the estimated AUC of DESIGN §13), feed the gauges."""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from prometheus_client.core import GaugeMetricFamily

from churn_service.drift.bins import DriftBins
from churn_service.drift.estimate import estimated_auc
from churn_service.drift.thresholds import THRESHOLDS
from churn_service.drift.window import RingWriter, drop_version, read_window

log = logging.getLogger(__name__)


class Measured(Protocol):
    """What the monitor needs of the model that scored (churn's `Serving`): its version and its bins."""

    @property
    def version(self) -> str: ...

    @property
    def drift(self) -> DriftBins | None: ...


class DriftMonitor:
    def __init__(self, folder: Path, window: int, min_records: int):
        self.folder, self.window, self.min_records = folder, window, min_records
        folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._version: str | None = None
        self._ring: RingWriter | None = None
        self._slot_lock = threading.Lock()
        self._next_slot = 0

    def _follow(self, serving: Measured) -> None:
        """First record of a new model in this worker: the window restarts (rare, so a lock is fine)."""
        with self._lock:
            if self._version == serving.version:
                return
            if self._version is not None:
                drop_version(self.folder, self._version)
            if self._ring is not None:
                self._ring.close()
            self._ring = (RingWriter(self.folder, serving.version, serving.drift.width, self.window)
                          if serving.drift else None)
            if serving.drift is None:
                log.warning("model %s has no drift statistics (trained before drift); /drift stays empty",
                            serving.version)
            self._version = serving.version

    def _ring_for(self, serving: Measured) -> RingWriter | None:
        """This worker's ring for the model that scored, or None when its drift is not measured."""
        if not self.window:
            return None
        if serving.version != self._version:
            self._follow(serving)
        ring = self._ring
        return ring if ring is not None and ring.version == serving.version else None

    def _slots(self, count: int) -> int:
        with self._slot_lock:  # each thread of the worker gets slots of its own
            first, self._next_slot = self._next_slot, self._next_slot + count
        return first

    def observe(self, serving: Measured, records: Sequence[dict[str, Any]], probabilities: Sequence[float]) -> None:
        ring = self._ring_for(serving)
        if ring is None or serving.drift is None:
            return
        if len(records) == 1:
            ring.add(self._slots(1), serving.drift.row(records[0], probabilities[0]), probabilities[0])
        else:
            ring.add_many(self._slots(len(records)), serving.drift.rows(records, probabilities),
                          np.asarray(probabilities, dtype=float))

    def observe_rows(self, serving: Measured, rows: Callable[[], np.ndarray], probabilities: np.ndarray) -> None:
        """A batch whose bins someone else computes (the kernel's columns), only when they are wanted."""
        ring = self._ring_for(serving)
        if ring is not None:
            bins = rows()
            ring.add_many(self._slots(len(bins)), bins, probabilities)

    def report(self, serving: Measured) -> dict[str, Any]:
        """The `/drift` body of DESIGN §7 (and §13's `estimated_auc`) for the model `serving` holds."""
        bins = serving.drift
        body: dict[str, Any] = {"model_version": serving.version, "window": 0, "since": None,
                                "thresholds": THRESHOLDS}
        if bins is None or not self.window:
            return {**body, "status": "insufficient_data", "features": {}, "prediction": None, "estimated_auc": None}
        window = read_window(self.folder, serving.version, bins.width, self.window)
        body["window"] = len(window.bins)
        if window.since is not None:
            body["since"] = datetime.fromtimestamp(window.since, UTC).isoformat(timespec="seconds")
        return {**body, **bins.report(window.bins, self.min_records),
                "estimated_auc": estimated_auc(window.probabilities, self.min_records)}


class DriftCollector:
    """`churn_feature_psi{feature}`, `churn_prediction_psi` and `churn_estimated_auc`, computed from the shared
    window at scrape time
    (so every worker exposes the whole service's values, with no per-worker gauge files to merge)."""

    def __init__(self, monitor: DriftMonitor, serving: Callable[[], Measured]):
        self.monitor, self.serving = monitor, serving  # the model serving now

    def describe(self) -> Iterator[GaugeMetricFamily]:
        """Names only, so registering the collector computes nothing."""
        yield GaugeMetricFamily("churn_feature_psi", "", labels=["feature"])
        yield GaugeMetricFamily("churn_prediction_psi", "")
        yield GaugeMetricFamily("churn_estimated_auc", "")

    def collect(self) -> Iterator[GaugeMetricFamily]:
        report = self.monitor.report(self.serving())
        features = GaugeMetricFamily("churn_feature_psi", "PSI of each feature over the drift window", labels=["feature"])
        for name, value in report["features"].items():
            features.add_metric([name], value["psi"])
        yield features
        if report["prediction"] is not None:
            yield GaugeMetricFamily("churn_prediction_psi", "PSI of the predicted probabilities over the drift window",
                                    value=report["prediction"]["psi"])
        if report["estimated_auc"] is not None:
            yield GaugeMetricFamily("churn_estimated_auc", "AUC expected over the drift window if the model is "
                                    "calibrated (DESIGN §13), before labels", value=report["estimated_auc"])
