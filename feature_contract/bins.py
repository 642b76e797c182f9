"""The bin rule drift is measured with, shared by `train` (which writes the training shares) and churn (which
bins live traffic): right-closed bins, a value v is in bin i where edges[i-1] < v <= edges[i], with open
outer bins, so n edges make n + 1 bins."""
from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence

import numpy as np

DECILES = tuple(i / 10 for i in range(1, 10))


def bin_index(edges: Sequence[float], value: float) -> int:
    return bisect_left(edges, value)


def decile_bins(values: Sequence[float] | np.ndarray) -> dict[str, list[float]]:
    """The training deciles of `values` as edges, and the share of `values` in each bin they make."""
    data = np.asarray(values, dtype=float)
    edges = [round(float(e), 6) for e in np.quantile(data, DECILES)]
    counts = np.bincount(np.searchsorted(edges, data, side="left"), minlength=len(edges) + 1)
    return {"deciles": edges, "shares": [round(float(c) / len(data), 6) for c in counts]}
