"""The shadow comparison of DESIGN §13: champion and challenger scored on the same labelled rows, each one's
AUC, the difference (challenger − champion) and its 95 % CI by DeLong's method, with the same weights as the
realized quality (untreated rows, 1 / (1 − propensity)).

Method. DeLong, DeLong & Clarke-Pearson (1988), "Comparing the areas under two or more correlated receiver
operating characteristic curves: a nonparametric approach", Biometrics 44:837–845, write each AUC as a
two-sample U-statistic and estimate the covariance of several AUCs on the same rows from placement values:
for a positive i, V10_i = the share of negatives it outranks (ties ½); for a negative j, V01_j = the share of
positives that outrank it; Cov = S10/m + S01/n, with S10, S01 the sample covariance matrices of the
placements over the m positives and the n negatives.

Weighted generalisation (ours). With weights u_i on positives and v_j on negatives (U = Σu, V = Σv) the AUC
is Σ_i Σ_j u_i v_j ψ_ij / (U V). The placements weigh the other class: V10_i = Σ_j v_j ψ_ij / V and
V01_j = Σ_i u_i ψ_ij / U, so AUC = Σ_i u_i V10_i / U = Σ_j v_j V01_j / V. To first order (the Hoeffding /
influence-function expansion DeLong's estimator rests on) AUC − θ ≈ Σ_i (u_i/U)(V10_i − θ) +
Σ_j (v_j/V)(V01_j − θ), with the weights held fixed — they are 1/(1 − propensity) of known design
probabilities, not estimates. Hence
    Cov = m/(m−1) Σ_i (u_i/U)² e_i e_iᵀ + n/(n−1) Σ_j (v_j/V)² d_j d_jᵀ,  e_i = V10_i − θ, d_j = V01_j − θ,
the linearisation (sandwich) variance of a weighted ratio estimator in survey sampling (Binder 1983, Int.
Stat. Rev. 51:279–292). With unit weights it is exactly DeLong's S10/m + S01/n. Placements come from
sorted cumulative weights, as in the midrank algorithm of Sun & Xu (2014, IEEE Signal Processing Letters
21:1389–1393), so the cost is O(n log n), not O(n²). Like DeLong's, the CI is a normal approximation
conditional on the numbers of churners and stayers."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

from marketing_service.quality.metrics import FloatArray, untreated_weights


@dataclass(frozen=True)
class PairedAuc:
    n: int
    champion_auc: float
    challenger_auc: float
    difference: float
    ci95: tuple[float, float]
    se: float

    def as_dict(self) -> dict[str, object]:
        """The JSON shape of §13's `shadow` block, less the version names the caller knows."""
        return {"n": self.n, "champion_auc": self.champion_auc, "challenger_auc": self.challenger_auc,
                "difference": self.difference, "ci95": [self.ci95[0], self.ci95[1]]}


def _cumulative(sorted_scores: FloatArray, sorted_weights: FloatArray, at: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Weight strictly below, and weight equal to, each value of `at` among the sorted scores."""
    cum = np.r_[0.0, np.cumsum(sorted_weights)]
    lo = np.searchsorted(sorted_scores, at, side="left")
    hi = np.searchsorted(sorted_scores, at, side="right")
    return cum[lo], cum[hi] - cum[lo]


def _placements(score: FloatArray, positive: npt.NDArray[np.bool_], w: FloatArray) -> tuple[FloatArray, FloatArray]:
    sp, u, sn, v = score[positive], w[positive], score[~positive], w[~positive]
    order_n, order_p = np.argsort(sn, kind="stable"), np.argsort(sp, kind="stable")
    below, tied = _cumulative(sn[order_n], v[order_n], sp)
    v10 = (below + 0.5 * tied) / v.sum()
    below, tied = _cumulative(sp[order_p], u[order_p], sn)
    v01 = (u.sum() - below - 0.5 * tied) / u.sum()
    return v10, v01


def delong_covariance(scores: npt.ArrayLike, churned: npt.ArrayLike,
                      weight: npt.ArrayLike | None = None) -> tuple[FloatArray, FloatArray] | None:
    """AUCs of k scores (a k × N array) on the same N rows and their k × k covariance (module docstring).
    Rows of weight 0 are dropped first; None unless ≥ 2 churners and ≥ 2 stayers remain."""
    s = np.atleast_2d(np.asarray(scores, dtype=np.float64))
    y = np.asarray(churned, dtype=np.float64)
    w = np.ones(s.shape[1]) if weight is None else np.asarray(weight, dtype=np.float64)
    if y.shape != (s.shape[1],) or w.shape != y.shape:
        raise ValueError("scores must be k × N, labels and weights of length N")
    if not (np.all(np.isfinite(s)) and np.all((y == 0) | (y == 1)) and np.all(np.isfinite(w) & (w >= 0))):
        raise ValueError("scores and weights must be finite, weights non-negative, labels 0 or 1")
    kept = w > 0
    s, y, w = s[:, kept], y[kept], w[kept]
    positive = y == 1
    m, n = int(positive.sum()), int((~positive).sum())
    if m < 2 or n < 2:
        return None
    pairs = [_placements(row, positive, w) for row in s]
    v10 = np.array([p[0] for p in pairs])  # k × m
    v01 = np.array([p[1] for p in pairs])  # k × n
    u, v = w[positive] / w[positive].sum(), w[~positive] / w[~positive].sum()
    auc = v10 @ u
    e, d = (v10 - auc[:, None]) * u, (v01 - auc[:, None]) * v
    cov = m / (m - 1) * (e @ e.T) + n / (n - 1) * (d @ d.T)
    return auc, cov


def paired_auc(champion: npt.ArrayLike, challenger: npt.ArrayLike, churned: npt.ArrayLike,
               weight: npt.ArrayLike | None = None, *, level: float = 0.95) -> PairedAuc | None:
    """Each AUC, challenger − champion, and its CI at `level` (normal, DeLong variance of the difference)."""
    found = delong_covariance(np.vstack([np.asarray(champion, dtype=np.float64),
                                         np.asarray(challenger, dtype=np.float64)]), churned, weight)
    if found is None:
        return None
    auc, cov = found
    difference = float(auc[1] - auc[0])
    se = float(np.sqrt(max(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1], 0.0)))
    z = NormalDist().inv_cdf(0.5 + level / 2)
    n = len(np.asarray(churned)) if weight is None else int(np.count_nonzero(np.asarray(weight, dtype=np.float64)))
    return PairedAuc(n=n, champion_auc=float(auc[0]), challenger_auc=float(auc[1]), difference=difference,
                     ci95=(difference - z * se, difference + z * se), se=se)


def shadow_comparison(rows: Iterable[Sequence[float | bool | int]], *, skip_impossible: bool = False) -> PairedAuc | None:
    """§13's shadow block from (champion p, challenger p, churned, propensity, treated) rows: the same rows and
    weights as realized_quality (untreated, 1 / (1 − propensity)); `n` counts those rows."""
    table = [tuple(row) for row in rows]
    if any(len(row) != 5 for row in table):
        raise ValueError("each row must be (champion p, challenger p, churned, propensity, treated)")
    c = np.array(table, dtype=np.float64).reshape(-1, 5).T
    keep, w = untreated_weights(c[3], c[4] != 0, skip_impossible=skip_impossible)
    return paired_auc(c[0][keep], c[1][keep], c[2][keep], w)
