"""The numpy uplift metrics equal scikit-uplift 0.5.1 (the reference DESIGN §14 names, imported here only) within
1e-9 on random data with tied scores, imbalanced arms and small n; undefined values are None, never NaN."""
from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from sklift.metrics import perfect_qini_curve as sk_perfect_qini_curve
from sklift.metrics import qini_auc_score as sk_qini_auc_score
from sklift.metrics import qini_curve as sk_qini_curve
from sklift.metrics import uplift_at_k as sk_uplift_at_k
from sklift.metrics import uplift_auc_score as sk_uplift_auc_score

from marketing_service.campaigns.uplift_metrics import (
    perfect_qini_curve,
    qini_auc_score,
    qini_curve,
    qini_picture,
    uplift_at_k,
    uplift_auc_score,
    uplift_metrics,
)

# sklift 0.5.1 calls scikit-learn's stable_cumsum, deprecated since 1.8: the reference warns, our code does not
pytestmark = pytest.mark.filterwarnings("ignore:Function stable_cumsum is deprecated:FutureWarning")

# (n, share treated, retention, score kind): continuous, rounded (ties), few distinct values, small, imbalanced
CASES = [(2000, 0.5, 0.7, "continuous"), (2000, 0.5, 0.7, "rounded"), (1500, 0.9, 0.75, "levels"),
         (1500, 0.05, 0.3, "rounded"), (40, 0.5, 0.5, "levels"), (12, 0.3, 0.6, "continuous"), (25, 0.8, 0.2, "rounded"),
         (300, 0.5, 0.95, "levels"), (8, 0.5, 0.5, "continuous")]


def data(case: tuple[int, float, float, str], seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n, share, rate, kind = case
    rng = np.random.default_rng(seed)
    treatment = (rng.random(n) < share).astype(int)
    treatment[:2] = [0, 1]
    score = rng.random(n)
    y = (rng.random(n) < np.clip(rate + 0.2 * treatment * (score - 0.5), 0, 1)).astype(int)
    y[2:4] = [0, 1]
    score = {"continuous": score, "rounded": np.round(score, 2), "levels": np.floor(score * 4) / 4}[kind]
    return y, score, treatment


def reference(metric: Callable[..., float], *args: Any, **kwargs: Any) -> float | None:
    """sklift's value, None where it raises (zero-area perfect curve) or gives NaN (an arm absent from the top k)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy's "Mean of empty slice" inside uplift_at_k
        try:
            value = metric(*args, **kwargs)
        except ZeroDivisionError:
            return None
    return None if np.isnan(value) else float(value)


def agrees(mine: float | None, theirs: float | None) -> bool:
    return (mine is None and theirs is None) or (mine is not None and theirs is not None and abs(mine - theirs) <= 1e-9)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_equal_to_scikit_uplift(case: tuple[int, float, float, str], seed: int) -> None:
    y, score, treatment = data(case, seed)
    block = uplift_metrics(y, score, treatment)
    assert agrees(block["qini_auc"], reference(sk_qini_auc_score, y, score, treatment))
    assert agrees(block["uplift_auc"], reference(sk_uplift_auc_score, y, score, treatment))
    assert agrees(qini_auc_score(y, score, treatment), block["qini_auc"])
    assert agrees(uplift_auc_score(y, score, treatment), block["uplift_auc"])
    for strategy in ("overall", "by_group"):
        for key, k in (("10", 0.1), ("20", 0.2), ("30", 0.3)):
            theirs = reference(sk_uplift_at_k, y, score, treatment, strategy=strategy, k=k)
            assert agrees(block["uplift_at_k"][strategy][key], theirs), (strategy, k)
            assert agrees(uplift_at_k(y, score, treatment, strategy, k), theirs)
    json.dumps(block, allow_nan=False)


@pytest.mark.parametrize("case", CASES)
def test_qini_curves_are_scikit_uplifts(case: tuple[int, float, float, str]) -> None:
    y, score, treatment = data(case, 7)
    for mine, theirs in ((qini_curve(y, score, treatment), sk_qini_curve(y, score, treatment)),
                         (perfect_qini_curve(y, treatment), sk_perfect_qini_curve(y, treatment))):
        np.testing.assert_array_equal(mine[0], theirs[0])
        np.testing.assert_allclose(mine[1], theirs[1], rtol=0, atol=1e-9)


def test_the_report_shape_and_none_where_undefined() -> None:
    y, score, treatment = data(CASES[0], 1)
    block = uplift_metrics(y, score, treatment)
    assert set(block) == {"qini_auc", "uplift_auc", "uplift_at_k"}
    assert {s: set(v) for s, v in block["uplift_at_k"].items()} == {"overall": {"10", "20", "30"},
                                                                     "by_group": {"10", "20", "30"}}
    empty_arm = uplift_metrics(y, score, np.ones_like(treatment))
    everyone_retained = uplift_metrics(np.ones_like(y), score, treatment)
    for undefined in (empty_arm, everyone_retained, uplift_metrics([], [], [])):
        assert undefined["qini_auc"] is None and undefined["uplift_auc"] is None
        assert all(v is None for s in undefined["uplift_at_k"].values() for v in s.values())
    tiny = uplift_metrics([0, 1, 1, 0, 1], [0.9, 0.8, 0.7, 0.6, 0.5], [1, 0, 1, 0, 1])
    assert tiny["uplift_at_k"]["overall"]["10"] is None  # int(5 · 0.1) = 0 rows: sklift gives NaN
    json.dumps(tiny, allow_nan=False)
    with pytest.raises(ValueError):
        uplift_metrics([0, 2], [0.1, 0.2], [0, 1])


def test_qini_picture_reads_the_curve_at_even_shares() -> None:
    y, score, treatment = data(CASES[1], 4)
    x, curve = sk_qini_curve(y, score, treatment)
    picture = qini_picture(y, score, treatment, points=11)
    assert picture["share"][0] == 0.0 and picture["share"][-1] == 1.0 and len(picture["model"]) == 11
    assert picture["model"][-1] == pytest.approx(curve[-1]) and picture["random"][-1] == pytest.approx(curve[-1])
    assert picture["model"][5] == pytest.approx(np.interp(len(y) / 2, x, curve))
    assert max(picture["perfect"]) >= max(picture["model"])
