"""Turn parsed records into churn probabilities.

A (DictVectorizer, LogisticRegression) pair is compiled into per-field weight lookups, so one record
scores as sigmoid(b + Σw) in plain Python (no arrays built) and a batch as a few numpy gathers; it is read
from the pickled state, so serving it never imports scikit-learn. Any other estimator falls back to
scikit-learn's own transform + predict_proba.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from churn_service.model.artifact import LoadedModel, LogisticRegressionState
from feature_contract import FEATURES


class Scorer(Protocol):
    def score_one(self, record: dict[str, Any]) -> float: ...

    def score_many(self, records: Sequence[dict[str, Any]]) -> list[float]: ...


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


class CompiledLogistic:
    """Weights looked up by `field=value` (categories) or multiplied by the value (numbers)."""

    def __init__(self, dv: Any, model: Any):
        """`dv`, `model`: fitted estimators or their FittedState (only the arrays are read)."""
        coef = np.asarray(model.coef_, dtype=float)[0]
        self.bias = float(model.intercept_[0])
        self.categorical: dict[str, dict[str, float]] = {}
        self.numeric: dict[str, float] = {}
        for name, weight in zip(dv.feature_names_, coef, strict=True):
            field, sep, value = name.partition(dv.separator)
            if sep:
                self.categorical.setdefault(field, {})[value] = float(weight)
            else:
                self.numeric[field] = float(weight)
        unknown = (set(self.categorical) | set(self.numeric)) - set(FEATURES)
        if unknown:
            raise ValueError(f"model uses features outside the contract: {sorted(unknown)}")
        # The order every sum follows (the model's); the batch kernel keeps it to give the same floats.
        self.categorical_items = list(self.categorical.items())
        self.numeric_items = list(self.numeric.items())

    def score_one(self, record: dict[str, Any]) -> float:
        z = self.bias
        for field, weights in self.categorical_items:
            # A category the model never saw weighs 0, exactly as DictVectorizer.transform drops it.
            z += weights.get(record[field], 0.0)
        for field, weight in self.numeric_items:
            z += weight * record[field]
        return _sigmoid(z)

    def score_many(self, records: Sequence[dict[str, Any]]) -> list[float]:
        # Summing the lookups in Python and applying the sigmoid with numpy measured faster than
        # gathering each field into arrays (1.1 vs 1.6 µs per record on 1000-record batches).
        bias, categorical, numeric = self.bias, self.categorical_items, self.numeric_items
        sums = []
        for record in records:
            z = bias
            for field, weights in categorical:
                z += weights.get(record[field], 0.0)
            for field, weight in numeric:
                z += weight * record[field]
            sums.append(z)
        # Clipped so exp() cannot overflow; sigmoid(±700) is already 0 or 1 in float64.
        z_array = np.clip(np.asarray(sums, dtype=float), -700.0, 700.0)
        return (1.0 / (1.0 + np.exp(-z_array))).tolist()


class SklearnScorer:
    """The textbook path, for estimators we do not compile."""

    def __init__(self, dv: Any, model: Any):
        self.dv, self.model = dv, model

    def score_one(self, record: dict[str, Any]) -> float:
        return self.score_many([record])[0]

    def score_many(self, records: Sequence[dict[str, Any]]) -> list[float]:
        features = [{f: r[f] for f in FEATURES} for r in records]
        return self.model.predict_proba(self.dv.transform(features))[:, 1].astype(float).tolist()


def build_scorer(loaded: LoadedModel) -> Scorer:
    dv, model = loaded.dv, loaded.model
    if isinstance(model, LogisticRegressionState) and len(getattr(model, "classes_", ())) == 2 \
            and hasattr(dv, "feature_names_"):
        return CompiledLogistic(dv, model)
    return SklearnScorer(*loaded.estimators())
