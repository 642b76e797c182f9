"""Why §13 weighs untreated rows by 1 / (1 − propensity), shown on a simulated population where offers work.

The champion sees a customer's true risk p = σ(z1 + z2) and targets p ≥ 0.3 with propensity 0.8 (a 20 %
holdout), exploring below the target with 0.05; an offer halves churn. An older version sees z1 only and scores
E[p | z1] = ½(σ(z1 − 1) + σ(z1 + 1)) (z2 = ±1 with chance ½): calibrated over the population by construction.
Truth is each model measured on everyone's outcome without offers (y0, known in a simulation). Measured on the
untreated rows unweighted, the holdout keeps few high-risk customers: the champion's AUC and Brier shrink, and
for the older version — whose score did not drive the offers — the untreated at a given score are those the
champion judged safer, so it looks miscalibrated. Weighted, both recover the truth."""
from __future__ import annotations

import math

import numpy as np
import pytest

from marketing_service.quality import brier_score, expected_calibration_error, realized_quality, weighted_auc

N = 400_000


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


@pytest.fixture(scope="module")
def population() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    z1, z2 = rng.normal(-1.2, 1.0, N), rng.choice([-1.0, 1.0], N)
    p = sigmoid(z1 + z2)
    propensity = np.where(p >= 0.3, 0.8, 0.05)
    treated = rng.random(N) < propensity
    y0 = (rng.random(N) < p).astype(float)  # the outcome without an offer
    y1 = (rng.random(N) < 0.5 * p).astype(float)  # the outcome with one: offers work
    return {"champion": p, "older": 0.5 * (sigmoid(z1 - 1) + sigmoid(z1 + 1)), "propensity": propensity,
            "treated": treated, "y0": y0, "y": np.where(treated, y1, y0)}


def known(value: float | None) -> float:
    assert value is not None
    return value


def kish(w: np.ndarray) -> float:
    """Kish's effective sample size of weighted rows, (Σw)² / Σw²."""
    return float(w.sum() ** 2 / (w**2).sum())


@pytest.mark.parametrize("version", ["champion", "older"])
def test_propensity_weights_remove_the_bias_offers_put_in_the_untreated_rows(population: dict[str, np.ndarray],
                                                                          version: str) -> None:
    score, y, y0, treated = population[version], population["y"], population["y0"], population["treated"]
    rows = np.column_stack([score, y, population["propensity"], treated])
    weighted = realized_quality(rows.tolist())
    untreated = ~treated
    truth_auc, truth_brier = known(weighted_auc(score, y0)), known(brier_score(score, y0))
    unweighted_auc = known(weighted_auc(score[untreated], y[untreated]))
    unweighted_brier = known(brier_score(score[untreated], y[untreated]))

    w = 1 / (1 - population["propensity"][untreated])
    churned = y[untreated] == 1
    n_eff = kish(w)
    # Var(AUC) ≤ A(1 − A) / min(m, n) (Birnbaum & Klose 1957), here with Kish's effective class sizes; 4 sd.
    auc_tol = 4 * math.sqrt(truth_auc * (1 - truth_auc) / min(kish(w[churned]), kish(w[~churned])))
    brier_tol = 4 * 0.5 / math.sqrt(n_eff)  # (p − y)² ∈ [0, 1] has sd ≤ ½
    ece_tol = 3 * 0.5 * math.sqrt(10 / n_eff)  # 3 × the calibrated-noise bound of test_quality_metrics
    assert weighted["auc"] == pytest.approx(truth_auc, abs=auc_tol)
    assert weighted["brier"] == pytest.approx(truth_brier, abs=brier_tol)
    assert known(weighted["ece"]) < ece_tol
    # The unweighted measure on the same rows misses the truth by several times those tolerances.
    assert abs(unweighted_auc - truth_auc) > 3 * auc_tol
    assert abs(unweighted_brier - truth_brier) > 3 * brier_tol
    if version == "older":
        assert known(expected_calibration_error(score[untreated], y[untreated])) > 5 * ece_tol


def test_counting_treated_rows_would_blame_the_model_for_the_offers_effect(population: dict[str, np.ndarray]) -> None:
    """The reason treated rows are out: offers halve churn, so a calibrated score looks too high on them."""
    p, y = population["champion"], population["y"]
    assert known(expected_calibration_error(p, population["y0"])) < 0.01
    assert known(expected_calibration_error(p, y)) > 0.05
