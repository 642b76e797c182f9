"""The paired DeLong comparison against known truth: its covariance equals a textbook O(n²) computation from the
formulas of DeLong, DeLong & Clarke-Pearson (1988), and its 95 % CI covers the true AUC difference of a binormal
model, AUC = Φ(μ/√2), at about the nominal rate — unweighted, and weighted after propensity-driven selection."""
from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from marketing_service.quality import delong_covariance, paired_auc, realized_quality, shadow_comparison

PHI = NormalDist().cdf
MU_CHAMPION, MU_CHALLENGER, RHO = 1.0, 1.4, 0.6
TRUE_DIFFERENCE = PHI(MU_CHALLENGER / 2**0.5) - PHI(MU_CHAMPION / 2**0.5)  # ≈ 0.079


def textbook_delong(scores: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Straight from the formulas, every pair compared: ψ = 1, ½, 0; placements V10, V01; with unit weights this is
    DeLong's S10/m + S01/n with (m − 1), (n − 1) divisors, with weights the linearised form in delong.py."""
    pos, neg = y == 1, y == 0
    u, v = w[pos] / w[pos].sum(), w[neg] / w[neg].sum()
    m, n = pos.sum(), neg.sum()
    aucs, e_rows, d_rows = [], [], []
    for s in scores:
        psi = (s[pos][:, None] > s[neg][None, :]) + 0.5 * (s[pos][:, None] == s[neg][None, :])
        v10, v01 = psi @ v, u @ psi
        auc = u @ v10
        aucs.append(auc)
        e_rows.append(u * (v10 - auc))
        d_rows.append(v * (v01 - auc))
    e, d = np.array(e_rows), np.array(d_rows)
    return np.array(aucs), m / (m - 1) * e @ e.T + n / (n - 1) * d @ d.T


def test_unweighted_covariance_is_delongs_s10_over_m_plus_s01_over_n() -> None:
    rng = np.random.default_rng(1)
    y = (rng.random(70) < 0.4).astype(float)
    scores = np.round(np.vstack([rng.normal(y, 1), rng.normal(1.5 * y, 1), rng.random(70)]), 1)  # ties
    pos, neg = y == 1, y == 0
    psi = [(s[pos][:, None] > s[neg]) + 0.5 * (s[pos][:, None] == s[neg]) for s in scores]
    s10 = np.cov(np.array([p.mean(axis=1) for p in psi]))  # placements of the positives, (m − 1) divisor
    s01 = np.cov(np.array([p.mean(axis=0) for p in psi]))
    expected = s10 / pos.sum() + s01 / neg.sum()
    found = delong_covariance(scores, y)
    assert found is not None
    np.testing.assert_allclose(found[0], [roc_auc_score(y, s) for s in scores], atol=1e-12)
    np.testing.assert_allclose(found[1], expected, rtol=1e-10, atol=1e-15)


def test_weighted_covariance_matches_the_pairwise_formula_and_unit_weights_change_nothing() -> None:
    rng = np.random.default_rng(2)
    y = (rng.random(90) < 0.3).astype(float)
    scores = np.round(np.vstack([rng.normal(y, 1), rng.normal(2 * y, 1)]), 1)
    w = rng.choice([1.0, 1.25, 5.0, 20.0], 90)
    found = delong_covariance(scores, y, w)
    assert found is not None
    expected_auc, expected_cov = textbook_delong(scores, y, w)
    np.testing.assert_allclose(found[0], expected_auc, atol=1e-12)
    np.testing.assert_allclose(found[0], [roc_auc_score(y, s, sample_weight=w) for s in scores], atol=1e-12)
    np.testing.assert_allclose(found[1], expected_cov, rtol=1e-10, atol=1e-15)
    plain, ones = delong_covariance(scores, y), delong_covariance(scores, y, np.full(90, 3.0))
    assert plain is not None and ones is not None
    np.testing.assert_allclose(ones[1], plain[1], rtol=1e-12)


def binormal(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stayers score N(0, 1), churners N(μ, 1) on each model, the two models' noise correlated ρ."""
    y = (rng.random(n) < 0.3).astype(float)
    e1 = rng.normal(size=n)
    e2 = RHO * e1 + (1 - RHO**2) ** 0.5 * rng.normal(size=n)
    return MU_CHAMPION * y + e1, MU_CHALLENGER * y + e2, y


def coverage(weighted: bool, reps: int = 200, n: int = 600) -> tuple[float, float]:
    """Shares of 95 % CIs covering the true difference, with and without weights. With `weighted`, the champion's
    score drives offers (propensity 0.9 above 0.8, a 10 % holdout, else 0.1), treated rows are dropped and the
    rest weighted 1 / (1 − propensity); without, nobody gets an offer and the two coincide."""
    rng = np.random.default_rng(20240613 + weighted)
    hits = np.zeros(2)
    for _ in range(reps):
        champion, challenger, y = binormal(rng, n)
        propensity = np.where(champion > 0.8, 0.9, 0.1) if weighted else np.zeros(n)
        kept = rng.random(n) >= propensity
        for k, weights in enumerate((1 / (1 - propensity[kept]), None)):
            result = paired_auc(champion[kept], challenger[kept], y[kept], weights)
            assert result is not None
            hits[k] += result.ci95[0] <= TRUE_DIFFERENCE <= result.ci95[1]
    return hits[0] / reps, hits[1] / reps


def test_the_ci_covers_the_true_difference_at_about_95_percent() -> None:
    covered, _ = coverage(weighted=False)
    # 200 repetitions: the share has sd √(0.95·0.05/200) ≈ 0.015, so [0.90, 0.99] is about −3 to +2.6 sd.
    assert 0.90 <= covered <= 0.99, covered


def test_the_weighted_ci_covers_the_population_difference_after_selection() -> None:
    covered, covered_unweighted = coverage(weighted=True)
    assert 0.90 <= covered <= 0.99, covered
    # Unweighted, the holdout's range restriction shifts the difference (≈ 0.110 instead of 0.079 on average over
    # 3000 runs) and coverage drops to ≈ 0.83; over these 200 it stays well below 0.90.
    assert covered_unweighted < 0.90, covered_unweighted


def test_paired_result_shape_sign_and_degenerate_cases() -> None:
    rng = np.random.default_rng(4)
    champion, challenger, y = binormal(rng, 400)
    result = paired_auc(champion, challenger, y)
    assert result is not None
    assert result.difference == pytest.approx(roc_auc_score(y, challenger) - roc_auc_score(y, champion), abs=1e-12)
    assert result.ci95[0] < result.difference < result.ci95[1]
    assert result.ci95[1] - result.difference == pytest.approx(1.959963984540054 * result.se)
    assert set(result.as_dict()) == {"n", "champion_auc", "challenger_auc", "difference", "ci95"}
    same = paired_auc(champion, champion, y)
    assert same is not None and same.difference == 0 and same.ci95 == (0.0, 0.0)
    assert paired_auc(champion, challenger, np.zeros(400)) is None
    assert paired_auc([0.1, 0.9, 0.5], [0.2, 0.8, 0.4], [0, 1, 1]) is None  # one stayer: no variance to estimate


def test_shadow_comparison_uses_the_rows_and_weights_of_realized_quality() -> None:
    rng = np.random.default_rng(6)
    champion, challenger, y = binormal(rng, 2000)
    p_champion, p_challenger = 1 / (1 + np.exp(-champion)), 1 / (1 + np.exp(-challenger))
    propensity = np.where(p_champion > 0.6, 0.8, 0.05)
    treated = rng.random(2000) < propensity
    shadow = shadow_comparison(zip(p_champion, p_challenger, y, propensity, treated, strict=True))
    champion_quality = realized_quality(zip(p_champion, y, propensity, treated, strict=True))
    challenger_quality = realized_quality(zip(p_challenger, y, propensity, treated, strict=True))
    assert shadow is not None and shadow.n == champion_quality["n"] == int((~treated).sum())
    assert shadow.champion_auc == pytest.approx(champion_quality["auc"], abs=1e-12)
    assert shadow.challenger_auc == pytest.approx(challenger_quality["auc"], abs=1e-12)
