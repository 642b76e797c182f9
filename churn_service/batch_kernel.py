"""Parse, check and score a batch of canonical records in one pass over each record.

A `/predict/batch` of API clients' records spent most of its time looking every field up three times: to
check it (the feature contract), to score it and to bin it for drift. Here one table per field answers the
first two at once: a categorical value's entry exists only for the contract's spellings and holds the
model's weight for it (0 for a category the model never saw, as DictVectorizer drops it). The sums follow
`CompiledLogistic.score_many` term by term, so the probabilities are the same floats. A batch with anything
unusual (another spelling, a string for a number, an extra key) returns None and takes the full path,
which also writes the errors.
"""
from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter
from typing import Any

import numpy as np

from churn_service.scoring import CompiledLogistic
from feature_contract import CATEGORICAL, CUSTOMER_ID_MAX, FEATURES, NUMERIC

# The one binary feature, checked like the fast path does: the integers 0 and 1 only.
BINARY_RANGE = (0, 1, True)


class BatchKernel:
    """Scores lists of canonical records for one compiled model."""

    def __init__(self, scorer: CompiledLogistic):
        self.bias = scorer.bias
        # Scoring order first (the model's), then any contract field the model does not use (checked, weight 0).
        used = [f for f, _ in scorer._categorical_items]
        self.categorical = tuple(
            (field, {value: scorer.categorical.get(field, {}).get(value, 0.0) for value in CATEGORICAL[field]})
            for field in [*used, *(f for f in CATEGORICAL if f not in used)]
        )
        limits = {**NUMERIC, "seniorcitizen": BINARY_RANGE}
        numeric_used = [f for f, _ in scorer._numeric_items]
        self.numeric = tuple(
            (field, scorer.numeric.get(field, 0.0), *limits[field])
            for field in [*numeric_used, *(f for f in limits if f not in numeric_used)]
        )
        self.width = len(FEATURES)
        self.tables = tuple(table for _, table in self.categorical)
        self.categorical_values = itemgetter(*(field for field, _ in self.categorical))
        self.numeric_values = itemgetter(*(field for field, *_ in self.numeric))
        self.numeric = tuple(spec for _, *spec in self.numeric)

    def sums(self, customers: Sequence[Any]) -> list[float] | None:
        """b + Σw for every customer, or None as soon as one is not in canonical form.

        Each record's categorical values come out in one itemgetter call and meet their tables in one C-level
        map; `sum(..., bias)` adds left to right, as the scorer's loop does."""
        bias, tables, numeric, width = self.bias, self.tables, self.numeric, self.width
        categorical_values, numeric_values = self.categorical_values, self.numeric_values
        lookup = dict.get
        sums = []
        try:
            for raw in customers:
                if type(raw) is not dict or len(raw) != width + ("customerid" in raw):
                    return None
                # An unknown spelling looks up None, and adding None raises TypeError: no separate check.
                z = sum(map(lookup, tables, categorical_values(raw)), bias)
                for (weight, low, high, integer), value in zip(numeric, numeric_values(raw), strict=True):
                    kind = type(value)
                    if not (kind is int or (kind is float and not integer)) or not low <= value <= high:
                        return None  # NaN fails the range test too
                    z += weight * value
                customer_id = raw.get("customerid")
                if customer_id is not None and (type(customer_id) is not str
                                                or not 1 <= len(customer_id) <= CUSTOMER_ID_MAX):
                    return None
                sums.append(z)
        except (KeyError, TypeError):  # a missing key, an unknown category, or an unhashable value (a list)
            return None
        return sums

    def score(self, customers: Sequence[Any]) -> list[float] | None:
        """The churn probabilities of canonical records, exactly as `score_many` gives them, or None."""
        sums = self.sums(customers)
        if sums is None:
            return None
        z = np.clip(np.asarray(sums, dtype=float), -700.0, 700.0)
        return (1.0 / (1.0 + np.exp(-z))).tolist()


def build_kernel(scorer: Any) -> BatchKernel | None:
    return BatchKernel(scorer) if isinstance(scorer, CompiledLogistic) else None
