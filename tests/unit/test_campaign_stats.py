"""The lift statistics of DESIGN §14 against their definitions, computed here by hand (not from the code), against
scipy where scipy has the test, and in simulation: with 30 looks at an A/A test the confidence sequence excludes 0
in at most 5 % of runs while the Wald interval does so far more often, and a true 4-point lift at 3,000 per arm is
still found by the sequence in most runs."""
from __future__ import annotations

import json
import math
from statistics import NormalDist

import numpy as np
import pytest
from scipy.optimize import minimize_scalar
from scipy.stats import chisquare

from marketing_service.campaigns.stats import (
    confidence_sequence,
    cuped,
    minimum_detectable_effect,
    sample_ratio_p_value,
    wald_interval,
)

Z_975 = 1.959963984540054  # NormalDist().inv_cdf(0.975), written out
LOOKS, PER_ARM, RUNS = 30, 3000, 2000


def ones(k: int, n: int) -> np.ndarray:
    return np.r_[np.ones(k), np.zeros(n - k)]


def excludes_zero(interval: tuple[float, float]) -> bool:
    return interval[0] > 0 or interval[1] < 0


def test_wald_interval_is_the_unpooled_textbook_interval() -> None:
    # 80 of 100 offered retained, 70 of 120 held out: p(1 − p)/n per arm, no pooling
    se = math.sqrt(0.8 * 0.2 / 100 + (70 / 120) * (50 / 120) / 120)
    lo, hi = wald_interval(ones(80, 100), ones(70, 120))
    assert lo == pytest.approx(0.8 - 70 / 120 - Z_975 * se, abs=1e-12)
    assert hi == pytest.approx(0.8 - 70 / 120 + Z_975 * se, abs=1e-12)
    lo90, hi90 = wald_interval(ones(80, 100), ones(70, 120), alpha=0.1)
    assert hi90 - lo90 == pytest.approx(2 * 1.6448536269514722 * se, abs=1e-12)


def normal_mixture_boundary(v: float, rho_prime: float, alpha: float = 0.05) -> float:
    """Howard, Ramdas, McAuliffe, Sekhon (2021), "Time-uniform, nonparametric, nonasymptotic confidence
    sequences", the two-sided normal-mixture boundary in intrinsic time v: with probability ≥ 1 − α a process
    S_t with variance process V_t stays within ±u(V_t) at every t, u(v) = sqrt((v + ρ′) ln((v + ρ′)/(ρ′ α²)))."""
    return math.sqrt((v + rho_prime) * math.log((v + rho_prime) / (rho_prime * alpha**2)))


def sequence_margin(s_o: int, n_o: int, s_h: int, n_h: int, rho2: float, alpha: float = 0.05) -> float:
    """The boundary applied to the standardized (unit-variance) sum of the t = n_o + n_h pseudo-outcomes, so
    v = t and ρ′ = 1/ρ², then scaled back to the mean of the pseudo-outcome: σ̂ · u(t)/t, σ̂² = t · V with V the
    per-arm variance of the difference, p̃(1 − p̃)/n with p̃ = (successes + ½)/(n + 1) as stats.py states."""
    t = n_o + n_h
    q_o, q_h = (s_o + 0.5) / (n_o + 1), (s_h + 0.5) / (n_h + 1)
    sigma = math.sqrt(t * (q_o * (1 - q_o) / n_o + q_h * (1 - q_h) / n_h))
    return sigma * normal_mixture_boundary(t, 1 / rho2, alpha) / t


RHO2_5000 = 0.001587230920347513  # the documented tuning (−2 ln α + ln(1 − 2 ln α)) / 5000, α = 0.05, written out


def test_confidence_sequence_is_the_normal_mixture_boundary_tuned_for_5000() -> None:
    difference = 2300 / 3000 - 2050 / 2800
    half = sequence_margin(2300, 3000, 2050, 2800, RHO2_5000)
    assert confidence_sequence(ones(2300, 3000), ones(2050, 2800)) == pytest.approx((difference - half, difference + half),
                                                                                      abs=1e-12)
    # p_o = 0.79, p_h = 0.75, 3,000 per arm, by hand: ρ² = (5.99146 + 1.94469)/5000 = 0.00158723, ρ′ = 630.03;
    # (v + ρ′)/(ρ′ α²) = 6630.03/(630.03 · 0.0025) = 4209.35, ln = 8.34506, u(6000) = sqrt(6630.03 · 8.34506) = 235.219;
    # p̃_o = 2370.5/3001 = 0.789903, p̃_h = 2250.5/3001 = 0.749917, t·V = 2 (0.165956 + 0.187542) = 0.706995,
    # σ̂ = 0.840830; margin = 0.840830 · 235.219 / 6000 = 0.032963 (Wald: 1.96 · 0.010854 = 0.021273).
    lo, hi = confidence_sequence(ones(2370, 3000), ones(2250, 3000))
    assert (hi - lo) / 2 == pytest.approx(0.032963, abs=1e-6)
    assert (lo + hi) / 2 == pytest.approx(0.04, abs=1e-12) and lo > 0  # a 4-point lift at 3,000 per arm is found


def test_the_tuning_makes_the_sequence_narrowest_at_5000_observations() -> None:
    # The ρ′ that minimizes u(5000) found numerically, not from a formula: the documented ρ² is within 0.01 % of it.
    best = minimize_scalar(lambda log_rho: normal_mixture_boundary(5000, math.exp(log_rho)), bounds=(0, 12),
                           method="bounded", options={"xatol": 1e-10})
    assert normal_mixture_boundary(5000, 1 / RHO2_5000) == pytest.approx(best.fun, rel=1e-4)
    assert math.exp(best.x) == pytest.approx(1 / RHO2_5000, rel=0.05)
    # in observations whatever σ̂: the multiplier of sqrt(V) at 5,000 in all is 3.04, 1.55 × the Wald 1.96
    assert normal_mixture_boundary(5000, 1 / RHO2_5000) / math.sqrt(5000) == pytest.approx(3.04, abs=0.01)


@pytest.mark.parametrize("n_o, n_h", [(0, 0), (0, 50), (1, 50), (50, 1), (1, 1)])
def test_an_arm_of_fewer_than_two_rows_gives_the_whole_range(n_o: int, n_h: int) -> None:
    for interval in (wald_interval(ones(n_o, n_o), ones(0, n_h)), confidence_sequence(ones(n_o, n_o), ones(0, n_h))):
        assert interval == (-1.0, 1.0)
    theta, difference, lo, hi = cuped(np.ones(n_o + n_h), np.linspace(0, 1, n_o + n_h), ones(n_o, n_o + n_h))
    assert (lo, hi) == (-1.0, 1.0)
    json.dumps([theta, difference, lo, hi], allow_nan=False)


def test_the_sequence_holds_the_wald_interval_at_every_n() -> None:
    rng = np.random.default_rng(3)
    y_o, y_h = rng.random(3000) < 0.8, rng.random(2000) < 0.7
    for n in range(2, 3001, 7):
        m = max(2, n * 2 // 3)
        w_lo, w_hi = wald_interval(y_o[:n], y_h[:m])
        s_lo, s_hi = confidence_sequence(y_o[:n], y_h[:m])
        assert s_lo <= w_lo and w_hi <= s_hi and (s_lo < w_lo or w_lo == -1.0)
    # an arm of all 1s: Wald has no width from it, the sequence still has some and stays in [−1, 1]
    s_lo, s_hi = confidence_sequence(np.ones(5), np.zeros(5))
    assert wald_interval(np.ones(5), np.zeros(5)) == (1.0, 1.0) and s_lo < 1.0 and s_hi == 1.0


def _looks(true_offered: float, true_holdout: float, seed: int, runs: int) -> tuple[np.ndarray, np.ndarray]:
    """Per run, whether Wald and the sequence exclude 0 at each of LOOKS evenly spaced looks up to PER_ARM per arm."""
    rng = np.random.default_rng(seed)
    at = np.linspace(PER_ARM / LOOKS, PER_ARM, LOOKS).astype(int)
    wald, sequence = np.zeros((runs, LOOKS), bool), np.zeros((runs, LOOKS), bool)
    for run in range(runs):
        y_o, y_h = rng.random(PER_ARM) < true_offered, rng.random(PER_ARM) < true_holdout
        for look, n in enumerate(at):
            wald[run, look] = excludes_zero(wald_interval(y_o[:n], y_h[:n]))
            sequence[run, look] = excludes_zero(confidence_sequence(y_o[:n], y_h[:n]))
    return wald, sequence


def test_a_a_with_30_looks_the_sequence_keeps_its_level_and_wald_does_not() -> None:
    wald, sequence = _looks(0.75, 0.75, seed=11, runs=RUNS)
    # measured: sequence ≈ 1.3 %, Wald ≈ 27 % of runs exclude 0 at some look (2,000 runs, three seeds)
    assert sequence.any(axis=1).mean() <= 0.05
    assert wald.any(axis=1).mean() > 0.15
    assert wald[:, -1].mean() == pytest.approx(0.05, abs=0.02)  # one look decided in advance: Wald is right


def test_a_4_point_lift_at_3000_per_arm_is_found_by_the_sequence_in_most_runs() -> None:
    wald, sequence = _looks(0.79, 0.75, seed=12, runs=500)
    # measured ≈ 0.74 (sequence) and ≈ 0.96 (Wald) at the last look: the price of looking as often as one likes
    assert sequence[:, -1].mean() > 0.5
    assert wald[:, -1].mean() > sequence[:, -1].mean()


def test_cuped_theta_is_the_regression_slope_and_narrows_the_interval() -> None:
    rng = np.random.default_rng(5)
    n = 6000
    x = rng.beta(2, 5, n)  # pre-treatment churn probability
    offered = rng.random(n) < 0.5
    y = (rng.random(n) < 1 - x + 0.04 * offered).astype(float)  # retained; a 4-point effect of the offer
    theta, difference, lo, hi = cuped(y, x, offered)
    assert theta == pytest.approx(np.cov(y, x)[0, 1] / np.var(x, ddof=1), rel=1e-12)
    adjusted = y - theta * (x - x.mean())
    assert difference == pytest.approx(adjusted[offered].mean() - adjusted[~offered].mean(), abs=1e-12)
    w_lo, w_hi = wald_interval(y[offered], y[~offered])
    assert hi - lo < 0.97 * (w_hi - w_lo)
    assert lo < 0.04 < hi


def test_cuped_with_a_constant_covariate_is_the_wald_interval() -> None:
    y, offered = ones(70, 100), np.arange(100) % 2 == 0
    theta, difference, lo, hi = cuped(y, np.full(100, 0.3), offered)
    assert theta == 0.0
    assert difference == pytest.approx(y[offered].mean() - y[~offered].mean())
    assert (lo, hi) == pytest.approx(wald_interval(y[offered], y[~offered]), abs=1e-12)


def test_minimum_detectable_effect_matches_the_formula_by_hand() -> None:
    z = NormalDist().inv_cdf(0.975) + NormalDist().inv_cdf(0.8)  # 1.95996 + 0.84162
    expected = z * math.sqrt(0.25 * 0.75 * (1 / 1000 + 1 / 1000))
    assert minimum_detectable_effect(1000, 1000, 0.25) == pytest.approx(expected, rel=1e-12)
    assert minimum_detectable_effect(1000, 1000, 0.25) == pytest.approx(0.0543, abs=5e-5)  # textbook: ~5.4 points
    assert minimum_detectable_effect(9000, 1000, 0.25) < minimum_detectable_effect(5000, 500, 0.25)
    assert minimum_detectable_effect(0, 1000, 0.25) == math.inf


@pytest.mark.parametrize("n_o, n_h, share", [(900, 100, 0.1), (880, 120, 0.1), (4430, 570, 0.1), (500, 520, 0.5), (7, 3, 0.2)])
def test_sample_ratio_p_value_is_scipys_chi_square(n_o: int, n_h: int, share: float) -> None:
    total = n_o + n_h
    reference = chisquare([n_o, n_h], f_exp=[total * (1 - share), total * share]).pvalue
    assert sample_ratio_p_value(n_o, n_h, share) == pytest.approx(reference, rel=1e-9, abs=1e-15)


def test_sample_ratio_flags_a_broken_split_only() -> None:
    assert sample_ratio_p_value(4000, 1000, 0.1) < 0.001  # 20 % held out where the design says 10 %
    assert sample_ratio_p_value(4510, 490, 0.1) > 0.05
    assert sample_ratio_p_value(0, 0, 0.1) == 1.0
    assert sample_ratio_p_value(10, 0, 0.0) == 1.0 and sample_ratio_p_value(10, 1, 0.0) == 0.0
    with pytest.raises(ValueError):
        sample_ratio_p_value(10, 1, 1.5)
