"""Drift of live traffic against the training data (DESIGN §7): each scored record becomes one bin index per
feature plus one for its probability; PSI compares the window's bin shares with the training shares.

Numeric bins follow `feature_contract.bins` (right-closed, open outer bins) with the training deciles
(`feature_stats[f]["deciles"]`) as edges; predictions use the test-set deciles (`prediction_stats`). A
categorical feature has one bin per training category, in the manifest's order, and a last bin for anything
unseen. Expected shares come from the manifest (`shares`, `frequencies`).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import repeat
from operator import itemgetter
from typing import Any

import numpy as np
import numpy.typing as npt

from churn_service.drift.thresholds import status_of, worst
from feature_contract.bins import bin_index

SHARE_FLOOR = 1e-4


def psi(actual_counts: Sequence[float] | npt.NDArray[np.integer], expected_shares: Sequence[float]) -> float:
    """Σ (a − e) · ln(a / e) over bins, both shares floored at 1e-4 so an empty bin stays finite."""
    counts = np.asarray(actual_counts, dtype=float)
    actual = np.maximum(counts / max(counts.sum(), 1.0), SHARE_FLOOR)
    expected = np.maximum(np.asarray(expected_shares, dtype=float), SHARE_FLOOR)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


@dataclass(frozen=True)
class FeatureBins:
    name: str
    expected: tuple[float, ...]
    edges: tuple[float, ...] = ()  # numeric
    categories: dict[Any, int] | None = None  # categorical: category -> bin; anything else -> `unseen`
    unseen: int = 0

    def index(self, value: Any) -> int:
        if self.categories is not None:
            return self.categories.get(value, self.unseen)
        return bin_index(self.edges, float(value))

    def column(self, values: Sequence[Any] | np.ndarray) -> np.ndarray:
        """`index` of many values at once (a batch): one vectorised search, or one C-level map of lookups."""
        if self.categories is not None:
            return np.fromiter(map(self.categories.get, values, repeat(self.unseen, len(values))), dtype=np.uint8,
                               count=len(values))
        return np.searchsorted(np.asarray(self.edges), np.asarray(values, dtype=float), side="left").astype(np.uint8)


@dataclass(frozen=True)
class DriftBins:
    """How to bin one model's traffic; built from its manifest, None when the manifest predates drift."""
    features: tuple[FeatureBins, ...]
    prediction: FeatureBins

    @property
    def width(self) -> int:
        return len(self.features) + 1

    def row(self, record: dict[str, Any], probability: float) -> tuple[int, ...]:
        return (*(f.index(record[f.name]) for f in self.features), self.prediction.index(probability))

    def rows(self, records: Sequence[dict[str, Any]], probabilities: Sequence[float]) -> np.ndarray:
        """`row` of every record of a batch, column by column: (len(records), width) bin indices."""
        values = zip(*map(itemgetter(*(f.name for f in self.features)), records), strict=True)
        columns = [f.column(column) for f, column in zip(self.features, values, strict=True)]
        return np.column_stack([*columns, self.prediction.column(probabilities)])

    def report(self, rows: np.ndarray, min_records: int) -> dict[str, Any]:
        """PSI per feature and for the prediction over `rows` (one row of bin indices per record)."""
        if len(rows) < min_records:
            return {"status": "insufficient_data", "features": {}, "prediction": None}
        columns = [*self.features, self.prediction]
        values: dict[str, dict[str, Any]] = {}
        for position, bins in enumerate(columns):
            counts = np.bincount(rows[:, position], minlength=len(bins.expected))[: len(bins.expected)]
            value = psi(counts, bins.expected)
            values[bins.name] = {"psi": value, "status": status_of(value)}
        prediction = values.pop(self.prediction.name)
        status = worst([v["status"] for v in [*values.values(), prediction]])
        return {"status": status, "features": values, "prediction": prediction}


def _numeric(name: str, stats: dict[str, Any]) -> FeatureBins:
    return FeatureBins(name, tuple(stats["shares"]), edges=tuple(stats["deciles"]))


def _categorical(name: str, stats: dict[str, Any]) -> FeatureBins:
    categories: dict[Any, int] = {category: i for i, category in enumerate(stats["frequencies"])}
    # The manifest writes every category as text; binary features arrive as the numbers 0 and 1.
    categories |= {int(c): i for c, i in list(categories.items()) if c.isascii() and c.isdigit()}
    return FeatureBins(name, (*stats["frequencies"].values(), 0.0), categories=categories,
                       unseen=len(stats["frequencies"]))


def drift_bins(manifest: dict[str, Any]) -> DriftBins | None:
    feature_stats, prediction_stats = manifest.get("feature_stats") or {}, manifest.get("prediction_stats") or {}
    if "shares" not in prediction_stats or not feature_stats:
        return None
    features = []
    for name, stats in feature_stats.items():
        if "frequencies" in stats:
            features.append(_categorical(name, stats))
        elif "deciles" in stats and "shares" in stats:
            features.append(_numeric(name, stats))
        else:
            return None
    return DriftBins(tuple(features), _numeric("prediction", prediction_stats))

