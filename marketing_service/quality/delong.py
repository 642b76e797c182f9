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

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import accumulate
from operator import mul
from statistics import NormalDist

from marketing_service.quality.metrics import (
    Numbers,
    columns,
    floats,
    labels_ok,
    tied_groups,
    untreated_weights,
    weights_ok,
)

_SHAPE = "scores must be k × N, labels and weights of length N"


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


def _below(weights: Sequence[float]) -> list[float]:
    """Weight strictly below each tied group: the prefix sums of the groups before it."""
    return list(accumulate(weights, initial=0.0))[:-1]


def _placements(score: Sequence[float], positive: Sequence[bool],
                w: Sequence[float]) -> tuple[list[float], list[float]]:
    """V10 of each positive and V01 of each negative, in row order, from the tied groups' prefix sums."""
    pos = [wi if yi else 0.0 for wi, yi in zip(w, positive, strict=True)]
    neg = [0.0 if yi else wi for wi, yi in zip(w, positive, strict=True)]
    pos_g, neg_g, at = tied_groups(score, pos, neg)
    below_neg, below_pos = _below(neg_g), _below(pos_g)
    total_pos, total_neg = math.fsum(pos), math.fsum(neg)
    v10_g = [(b + 0.5 * t) / total_neg for b, t in zip(below_neg, neg_g, strict=True)]
    v01_g = [(total_pos - b - 0.5 * t) / total_pos for b, t in zip(below_pos, pos_g, strict=True)]
    v10 = [v10_g[k] for k, yi in zip(at, positive, strict=True) if yi]
    v01 = [v01_g[k] for k, yi in zip(at, positive, strict=True) if not yi]
    return v10, v01


def _dot(a: Sequence[float], b: Sequence[float]) -> float:
    """Σ a·b summed exactly (fsum): two identical scores then get a variance of the difference of exactly 0."""
    return math.fsum(map(mul, a, b))


def delong_covariance(scores: Iterable[Numbers] | Numbers, churned: Numbers,
                      weight: Numbers | None = None) -> tuple[list[float], list[list[float]]] | None:
    """AUCs of k scores (a k × N array) on the same N rows and their k × k covariance (module docstring).
    Rows of weight 0 are dropped first; None unless ≥ 2 churners and ≥ 2 stayers remain."""
    items = list(scores)
    if not items or not isinstance(items[0], Iterable):  # one score of N numbers: k = 1
        items = [items]
    s = [floats(row, _SHAPE) for row in items]  # type: ignore[arg-type]
    y = floats(churned, _SHAPE)
    w = [1.0] * len(s[0]) if weight is None else floats(weight, _SHAPE)
    if any(len(row) != len(y) for row in s) or len(w) != len(y):
        raise ValueError(_SHAPE)
    if not (all(all(map(math.isfinite, row)) for row in s) and labels_ok(y) and weights_ok(w)):
        raise ValueError("scores and weights must be finite, weights non-negative, labels 0 or 1")
    kept = [wi > 0 for wi in w]
    s = [[v for v, k in zip(row, kept, strict=True) if k] for row in s]
    positive = [yi == 1 for yi, k in zip(y, kept, strict=True) if k]
    w = [wi for wi in w if wi > 0]
    m = sum(positive)
    n = len(positive) - m
    if m < 2 or n < 2:
        return None
    u = [wi for wi, yi in zip(w, positive, strict=True) if yi]
    v = [wi for wi, yi in zip(w, positive, strict=True) if not yi]
    total_u, total_v = math.fsum(u), math.fsum(v)
    u, v = [x / total_u for x in u], [x / total_v for x in v]
    e_rows, d_rows, auc = [], [], []
    for row in s:
        v10, v01 = _placements(row, positive, w)
        theta = _dot(v10, u)
        auc.append(theta)
        e_rows.append([(p - theta) * ui for p, ui in zip(v10, u, strict=True)])
        d_rows.append([(p - theta) * vj for p, vj in zip(v01, v, strict=True)])
    cov = [[m / (m - 1) * _dot(ea, eb) + n / (n - 1) * _dot(da, db) for eb, db in zip(e_rows, d_rows, strict=True)]
           for ea, da in zip(e_rows, d_rows, strict=True)]
    return auc, cov


def paired_auc(champion: Numbers, challenger: Numbers, churned: Numbers,
               weight: Numbers | None = None, *, level: float = 0.95) -> PairedAuc | None:
    """Each AUC, challenger − champion, and its CI at `level` (normal, DeLong variance of the difference)."""
    labels = list(churned)
    weights = None if weight is None else floats(weight, _SHAPE)
    found = delong_covariance([list(champion), list(challenger)], labels, weights)
    if found is None:
        return None
    auc, cov = found
    difference = auc[1] - auc[0]
    se = math.sqrt(max(cov[0][0] + cov[1][1] - 2 * cov[0][1], 0.0))
    z = NormalDist().inv_cdf(0.5 + level / 2)
    n = len(labels) if weights is None else sum(1 for x in weights if x != 0)
    return PairedAuc(n=n, champion_auc=auc[0], challenger_auc=auc[1], difference=difference,
                     ci95=(difference - z * se, difference + z * se), se=se)


def shadow_comparison(rows: Iterable[Sequence[float | bool | int]], *, skip_impossible: bool = False) -> PairedAuc | None:
    """§13's shadow block from (champion p, challenger p, churned, propensity, treated) rows: the same rows and
    weights as realized_quality (untreated, 1 / (1 − propensity)); `n` counts those rows."""
    c = columns(rows, 5, "each row must be (champion p, challenger p, churned, propensity, treated)")
    keep, w = untreated_weights(c[3], [t != 0 for t in c[4]], skip_impossible=skip_impossible)
    champion, challenger, churned = ([v for v, k in zip(col, keep, strict=True) if k] for col in c[:3])
    return paired_auc(champion, challenger, churned, w)
