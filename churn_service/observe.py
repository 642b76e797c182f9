"""Record predictions in the churn metrics without paying per-record label lookups on big batches."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from prometheus_client import Histogram

from churn_service.state import ChurnState


def observe_many(histogram: Histogram, values: Sequence[float]) -> None:
    """`histogram.observe(v)` for every v, as one increment per bucket.

    prometheus-client has no bulk observe, so this uses its bucket and sum values directly; if a future
    release renames them it falls back to observing one value at a time.
    """
    try:
        bounds, buckets, total = histogram._upper_bounds, histogram._buckets, histogram._sum
    except AttributeError:
        for value in values:
            histogram.observe(value)
        return
    counts = np.bincount(np.searchsorted(bounds, values, side="left"), minlength=len(bounds))
    for bucket, count in zip(buckets, counts.tolist(), strict=True):
        if count:
            bucket.inc(count)
    total.inc(float(np.sum(values)))


def record_predictions(state: ChurnState, probabilities: Sequence[float], churners: int) -> None:
    if churners:
        state.churn_outcome.inc(churners)
    if len(probabilities) > churners:
        state.no_churn_outcome.inc(len(probabilities) - churners)
    if len(probabilities) == 1:
        state.probabilities.observe(probabilities[0])
    else:
        observe_many(state.probabilities, probabilities)
