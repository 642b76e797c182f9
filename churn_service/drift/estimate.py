"""The AUC to expect before any label arrives (DESIGN §13): confidence-based performance estimation.

If the model is calibrated, a record scored p churns with probability p. Over the window's records, a pair
(i, j), i ≠ j, is a (churner, stayer) pair with weight p_i (1 − p_j), and the model ranks it right when
s_i > s_j (half when tied); the score s is the probability itself. So

    estimated AUC = Σ p_i (1 − p_j) [s_i > s_j] (ties ½) / Σ p_i (1 − p_j), over pairs i ≠ j.

Summed over the sorted distinct values with prefix sums: O(n log n), where the pairs are O(n²).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def estimated_auc(probabilities: Sequence[float] | np.ndarray, min_records: int) -> float | None:
    """The formula above, or None for fewer than `min_records` records or when every probability is equal
    (no pair is ranked either way)."""
    p = np.asarray(probabilities, dtype=float)
    if len(p) < max(min_records, 2):
        return None
    values, counts = np.unique(p, return_counts=True)  # sorted ascending
    if len(values) < 2:
        return None
    stayers = counts * (1.0 - values)  # Σ (1 − p_j) over the records of each distinct value
    below = np.cumsum(stayers) - stayers  # ... over the records scored lower
    # Within a value, each record pairs with the other (count − 1), each pair a tie: ½ (1 − v) apiece.
    ranked = np.sum(counts * values * (below + 0.5 * (counts - 1) * (1.0 - values)))
    pairs = p.sum() * (1.0 - p).sum() - np.sum(p * (1.0 - p))  # every (i, j) less the pairs i = j
    return float(ranked / pairs) if pairs > 0 else None
