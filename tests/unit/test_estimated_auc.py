"""The estimated AUC of DESIGN §13 (drift/estimate.py) against its formula written out pair by pair, O(n²),
on random probabilities with many ties; and when it is null."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from churn_service.drift.estimate import estimated_auc


def by_pairs(p: list[float]) -> float:
    """Σ p_i (1 − p_j) [p_i > p_j] (ties ½) / Σ p_i (1 − p_j), over every pair i ≠ j, one at a time."""
    ranked = weight = 0.0
    for i, pi in enumerate(p):
        for j, pj in enumerate(p):
            if i != j:
                w = pi * (1 - pj)
                weight += w
                ranked += w * (1.0 if pi > pj else 0.5 if pi == pj else 0.0)
    return ranked / weight


# Probabilities drawn from a few values (ties inside and across) or anywhere in [0, 1], 0 and 1 included.
probabilities = st.lists(st.one_of(st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.9, 1.0]),
                                   st.floats(0, 1, allow_nan=False)), min_size=2, max_size=60)


@settings(max_examples=300, deadline=None)
@given(probabilities)
def test_the_sorted_sums_equal_the_formula_pair_by_pair(p: list[float]) -> None:
    expected = by_pairs(p) if len(set(p)) > 1 else None
    got = estimated_auc(p, min_records=2)
    assert got == (None if expected is None else pytest.approx(expected, abs=1e-12))


@pytest.mark.parametrize("seed", range(5))
def test_larger_seeded_windows_with_heavy_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    p = np.round(rng.beta(0.8, 2.0, size=400), 2).tolist()  # 400 records on about 100 values
    assert estimated_auc(p, min_records=400) == pytest.approx(by_pairs(p), abs=1e-12)


def test_null_below_the_minimum_or_when_nothing_is_ranked() -> None:
    spread = np.linspace(0.01, 0.99, 500)
    assert estimated_auc(spread[:499], min_records=500) is None
    assert estimated_auc(spread, min_records=500) is not None
    assert estimated_auc([0.3] * 600, min_records=500) is None
    assert estimated_auc([], min_records=0) is None and estimated_auc([0.4], min_records=0) is None


def test_a_perfectly_separating_confident_model_expects_an_auc_of_one() -> None:
    assert estimated_auc([0.0] * 300 + [1.0] * 300, min_records=500) == 1.0


def test_it_takes_n_log_n_not_n_squared() -> None:
    """The 5000-record window of the default DRIFT_WINDOW, and 200 times more: no pair-by-pair loop
    survives the second one."""
    big = np.random.default_rng(7).random(1_000_000)
    assert 0.5 < (estimated_auc(big, min_records=500) or 0) < 1
