"""The measurement core of §13 against known truth: a calibrated model simulated from a Beta law, sklearn as an
independent implementation, weights that equal duplicated rows, and small cases worked by hand."""
from __future__ import annotations

import logging
import math

import numpy as np
import pytest
from scipy import integrate, stats
from sklearn.metrics import brier_score_loss, roc_auc_score

from marketing_service.quality import (
    brier_score,
    calibration_bins,
    expected_calibration_error,
    realized_quality,
    untreated_weights,
    weighted_auc,
)

A, B, N = 2.0, 5.0, 200_000


@pytest.fixture(scope="module")
def calibrated() -> tuple[np.ndarray, np.ndarray]:
    """p ~ Beta(2, 5), y ~ Bernoulli(p): a model calibrated by construction."""
    rng = np.random.default_rng(20240613)
    p = rng.beta(A, B, N)
    return p, (rng.random(N) < p).astype(float)


def true_auc() -> float:
    """Population AUC of a calibrated Beta(a, b) score: churners' p ~ Beta(a+1, b), stayers' p ~ Beta(a, b+1)
    (density ∝ p·f and (1−p)·f), so AUC = P(X > Y) = ∫ f_X(x) F_Y(x) dx."""
    value, _ = integrate.quad(lambda x: stats.beta.pdf(x, A + 1, B) * stats.beta.cdf(x, A, B + 1), 0, 1)
    return float(value)


def hanley_mcneil_se(auc: float, m: float, n: float) -> float:
    """Hanley & McNeil (1982) standard error of an AUC from m positives and n negatives."""
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    return math.sqrt((auc * (1 - auc) + (m - 1) * (q1 - auc**2) + (n - 1) * (q2 - auc**2)) / (m * n))


def test_a_calibrated_model_shows_its_known_auc(calibrated: tuple[np.ndarray, np.ndarray]) -> None:
    p, y = calibrated
    auc, truth = weighted_auc(p, y), true_auc()
    assert auc is not None
    assert auc == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    # Sampling error only: 4 Hanley–McNeil standard errors at the expected class sizes (≈ 0.006 here).
    tolerance = 4 * hanley_mcneil_se(truth, N * A / (A + B), N * B / (A + B))
    assert abs(auc - truth) < tolerance, (auc, truth, tolerance)


def test_a_calibrated_model_shows_brier_equal_to_the_mean_bernoulli_variance(calibrated: tuple[np.ndarray, np.ndarray]) -> None:
    p, y = calibrated
    brier = brier_score(p, y)
    assert brier == pytest.approx(brier_score_loss(y, p), abs=1e-12)
    expected = A / (A + B) - A * (A + 1) / ((A + B) * (A + B + 1))  # E[p(1−p)] = E[p] − E[p²] for Beta(a, b)
    # (p − y)² lies in [0, 1]: Hoeffding gives P(|mean − E| > 0.005) ≤ 2·exp(−2·N·0.005²) = 9e-5.
    assert brier == pytest.approx(expected, abs=0.005)


def ece_noise_bound(n_effective: float) -> float:
    """For a calibrated model each bin's observed rate misses its mean prediction by noise of sd ≤ ½/√n_b, so
    E[ECE] ≤ Σ (n_b/n)·½/√n_b ≤ ½·√(10/n) (Cauchy–Schwarz over 10 bins)."""
    return 0.5 * math.sqrt(10 / n_effective)


def test_a_calibrated_model_shows_ece_near_zero_and_a_shifted_one_its_shift(calibrated: tuple[np.ndarray, np.ndarray]) -> None:
    p, y = calibrated
    bound = ece_noise_bound(N)  # ≈ 0.0035; three times it is far in the tail of a sum of 10 Gaussian terms
    ece = expected_calibration_error(p, y)
    assert ece is not None and ece < 3 * bound, (ece, bound)
    for row in calibration_bins(p, y):
        assert abs(row["mean_predicted"] - row["observed_rate"]) < 4 * 0.5 / math.sqrt(row["n"]), row
    shifted = np.minimum(p + 0.05, 1.0)  # every prediction 0.05 too high: the ECE must say 0.05
    assert expected_calibration_error(shifted, y) == pytest.approx(0.05, abs=3 * bound)


def test_weighted_auc_and_brier_agree_with_sklearn_sample_weight() -> None:
    rng = np.random.default_rng(5)
    y = (rng.random(5000) < 0.3).astype(float)
    score = np.round(rng.normal(y, 1.0) / 4 + 0.5, 2).clip(0, 1)  # rounded: many ties
    w = rng.gamma(2.0, 1.5, 5000)
    assert weighted_auc(score, y, w) == pytest.approx(roc_auc_score(y, score, sample_weight=w), abs=1e-12)
    assert brier_score(score, y, w) == pytest.approx(brier_score_loss(y, score, sample_weight=w), abs=1e-12)


def test_a_weighted_auc_equals_the_auc_of_the_rows_duplicated() -> None:
    rng = np.random.default_rng(11)
    y = (rng.random(3000) < 0.4).astype(float)
    p = np.round(rng.beta(2, 3, 3000), 2)
    w = rng.integers(0, 5, 3000)  # 0 drops the row
    p2, y2 = np.repeat(p, w), np.repeat(y, w)
    assert weighted_auc(p, y, w) == pytest.approx(weighted_auc(p2, y2), abs=1e-12)
    assert weighted_auc(p, y, w) == pytest.approx(roc_auc_score(y2, p2), abs=1e-12)
    assert brier_score(p, y, w) == pytest.approx(brier_score(p2, y2), abs=1e-12)
    assert expected_calibration_error(p, y, w) == pytest.approx(expected_calibration_error(p2, y2), abs=1e-12)
    weighted, duplicated = calibration_bins(p, y, w), calibration_bins(p2, y2)
    np.testing.assert_allclose([(b["lo"], b["mean_predicted"], b["observed_rate"]) for b in weighted],
                               [(b["lo"], b["mean_predicted"], b["observed_rate"]) for b in duplicated], atol=1e-12)


def test_auc_sorts_rather_than_compares_pairs() -> None:
    """A million rows: 5·10¹¹ pairs would not finish under the test timeout; sorting takes about a second."""
    rng = np.random.default_rng(3)
    y = (rng.random(1_000_000) < 0.2).astype(float)
    s = rng.normal(y, 1.0)
    assert weighted_auc(s, y) == pytest.approx(roc_auc_score(y, s), abs=1e-12)


def test_bins_are_half_open_with_one_in_the_last_and_empty_bins_left_out() -> None:
    p = [0.0, 0.0999, 0.1, 0.3, 0.7, 0.9, 0.99999, 1.0]
    y = [0, 0, 1, 0, 1, 1, 0, 1]
    w = [1, 1, 1, 1, 1, 1, 1, 3]
    bins = calibration_bins(p, y, w)
    assert [(b["lo"], b["hi"], b["n"]) for b in bins] == [(0.0, 0.1, 2), (0.1, 0.2, 1), (0.3, 0.4, 1), (0.7, 0.8, 1),
                                                          (0.9, 1.0, 3)]
    last = bins[-1]
    assert last["mean_predicted"] == pytest.approx((0.9 + 0.99999 + 3 * 1.0) / 5)
    assert last["observed_rate"] == pytest.approx((1 + 0 + 3) / 5)


def test_realized_quality_keeps_untreated_rows_weighted_by_inverse_holdout_worked_by_hand() -> None:
    rows = [(0.2, 0, 0.5, False),  # weight 2
            (0.5, 1, 0.0, False),  # weight 1
            (0.6, 0, 0.75, False),  # weight 4
            (0.9, 1, 1.0, True),  # got an offer: out
            (0.65, 1, 0.2, True)]  # got an offer: out
    q = realized_quality(rows)
    assert q["n"] == 3
    assert q["auc"] == pytest.approx(1 * 2 / (1 * 6))  # the churner outranks the stayer of weight 2 only
    assert q["brier"] == pytest.approx((2 * 0.2**2 + 1 * 0.5**2 + 4 * 0.6**2) / 7)
    assert q["ece"] == pytest.approx((2 * 0.2 + 1 * 0.5 + 4 * 0.6) / 7)
    np.testing.assert_allclose([(b["lo"], b["n"], b["mean_predicted"], b["observed_rate"]) for b in q["calibration"]],
                               [(0.2, 1, 0.2, 0.0), (0.5, 1, 0.5, 1.0), (0.6, 1, 0.6, 0.0)], atol=1e-12)


def test_realized_quality_without_rows_or_without_a_class() -> None:
    assert realized_quality([]) == {"n": 0, "auc": None, "brier": None, "ece": None, "calibration": []}
    one_class = realized_quality([(0.3, 0, 0.0, False), (0.8, 0, 0.0, False)])
    assert one_class["auc"] is None and one_class["brier"] == pytest.approx((0.09 + 0.64) / 2)


def test_an_untreated_row_with_propensity_one_is_refused_or_skipped_out_loud(caplog: pytest.LogCaptureFixture) -> None:
    rows = [(0.2, 0, 0.5, False), (0.7, 1, 1.0, False), (0.6, 1, 0.0, False)]
    with pytest.raises(ValueError, match="propensity 1"):
        realized_quality(rows)
    with caplog.at_level(logging.WARNING):
        q = realized_quality(rows, skip_impossible=True)
    assert q["n"] == 2 and "skipped 1 untreated rows" in caplog.text
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        untreated_weights([1.5], [False])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        brier_score([1.2], [1])
