"""Realized model quality as DESIGN §13 defines it: weighted AUC, Brier score, calibration bins and ECE, measured
on customers who got no offer, each weighted by 1 / (1 − propensity), because an offer changes the very outcome
the score predicts. Pure functions over arrays (no Flask, no database), so tests can pin them to known truth."""
from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import TypedDict

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
ArrayLike = npt.ArrayLike
# Inner edges k/10: bin k holds [k/10, (k+1)/10), and 1.0 falls in the last bin (searchsorted, side="right").
_INNER_EDGES = np.array([k / 10 for k in range(1, 10)])


class CalibrationBin(TypedDict):
    lo: float
    hi: float
    n: int
    mean_predicted: float
    observed_rate: float


class Quality(TypedDict):
    n: int
    auc: float | None
    brier: float | None
    ece: float | None
    calibration: list[CalibrationBin]


def _labels_and_weights(churned: ArrayLike, weight: ArrayLike | None, length: int) -> tuple[FloatArray, FloatArray]:
    y = np.asarray(churned, dtype=np.float64)
    w = np.ones(length) if weight is None else np.asarray(weight, dtype=np.float64)
    if y.shape != (length,) or w.shape != (length,):
        raise ValueError("scores, labels and weights must be 1-d arrays of one length")
    if not np.all((y == 0) | (y == 1)):
        raise ValueError("churned must be 0 or 1")
    if not np.all(np.isfinite(w) & (w >= 0)):
        raise ValueError("weights must be finite and non-negative")
    return y, w


def _probabilities(probability: ArrayLike, churned: ArrayLike, weight: ArrayLike | None) -> tuple[FloatArray, ...]:
    p = np.asarray(probability, dtype=np.float64)
    if p.ndim != 1 or not np.all((p >= 0) & (p <= 1)):  # the comparison is False for NaN, so NaN is refused too
        raise ValueError("probabilities must be a 1-d array of values in [0, 1]")
    return (p, *_labels_and_weights(churned, weight, len(p)))


def weighted_auc(score: ArrayLike, churned: ArrayLike, weight: ArrayLike | None = None) -> float | None:
    """P(score of a churner > score of a stayer), pairs weighted by the product of their weights, ties ½.
    Sorting once and summing per tied group makes it O(n log n); None when a class has no weight."""
    s = np.asarray(score, dtype=np.float64)
    if s.ndim != 1 or not np.all(np.isfinite(s)):
        raise ValueError("scores must be a 1-d array of finite numbers")
    y, w = _labels_and_weights(churned, weight, len(s))
    pos, neg = w * y, w * (1 - y)
    total_pos, total_neg = pos.sum(), neg.sum()
    if total_pos <= 0 or total_neg <= 0:
        return None
    order = np.argsort(s, kind="stable")
    s, pos, neg = s[order], pos[order], neg[order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    pos_g, neg_g = np.add.reduceat(pos, starts), np.add.reduceat(neg, starts)
    neg_below = np.cumsum(neg_g) - neg_g
    return float(np.sum(pos_g * (neg_below + 0.5 * neg_g)) / (total_pos * total_neg))


def brier_score(probability: ArrayLike, churned: ArrayLike, weight: ArrayLike | None = None) -> float | None:
    """Weighted mean of (p − y)²; None when there is no weight at all."""
    p, y, w = _probabilities(probability, churned, weight)
    total = w.sum()
    return float(np.sum(w * (p - y) ** 2) / total) if total > 0 else None


def _bin_sums(probability: ArrayLike, churned: ArrayLike, weight: ArrayLike | None) -> tuple[FloatArray, ...]:
    """Per bin: row count, weight, weighted Σp and weighted Σy — the one place the §13 binning lives."""
    p, y, w = _probabilities(probability, churned, weight)
    k = np.searchsorted(_INNER_EDGES, p, side="right")
    return tuple(np.bincount(k, weights=v, minlength=10).astype(np.float64) for v in (np.ones_like(p), w, w * p, w * y))


def calibration_bins(probability: ArrayLike, churned: ArrayLike, weight: ArrayLike | None = None) -> list[CalibrationBin]:
    """The non-empty bins of 10 equal-width bins; `n` counts rows, the means are weighted (bins whose rows all
    weigh 0 are left out, as their means do not exist)."""
    count, total, sum_p, sum_y = _bin_sums(probability, churned, weight)
    return [
        CalibrationBin(lo=k / 10, hi=(k + 1) / 10, n=int(count[k]),
                       mean_predicted=float(sum_p[k] / total[k]), observed_rate=float(sum_y[k] / total[k]))
        for k in range(10) if count[k] > 0 and total[k] > 0
    ]


def expected_calibration_error(probability: ArrayLike, churned: ArrayLike, weight: ArrayLike | None = None) -> float | None:
    """Σ over bins of (the bin's share of the weight) · |mean predicted − observed rate|; None without weight."""
    _, total, sum_p, sum_y = _bin_sums(probability, churned, weight)
    if total.sum() <= 0:
        return None
    filled = total > 0
    return float(np.sum(np.abs(sum_p[filled] - sum_y[filled])) / total.sum())


def untreated_weights(propensity: ArrayLike, treated: ArrayLike, *,
                      skip_impossible: bool = False) -> tuple[BoolArray, FloatArray]:
    """Which rows count (no offer) and their weights 1 / (1 − propensity): a customer kept out with chance
    1 − π stands for 1 / (1 − π) customers like them, so the untreated rows represent everyone.

    An untreated row with propensity ≥ 1 cannot happen by design (it would have had an offer) and has no finite
    weight: it is refused with ValueError, or, with skip_impossible, left out and logged."""
    pi = np.asarray(propensity, dtype=np.float64)
    off = np.asarray(treated, dtype=bool)
    if pi.ndim != 1 or pi.shape != off.shape:
        raise ValueError("propensity and treated must be 1-d arrays of one length")
    keep = ~off
    bad_range = keep & ~((pi >= 0) & (pi <= 1))
    if bad_range.any():
        raise ValueError(f"propensity must lie in [0, 1]; row {int(np.argmax(bad_range))} has {pi[bad_range][0]!r}")
    impossible = keep & (pi >= 1)
    if impossible.any():
        if not skip_impossible:
            raise ValueError(f"row {int(np.argmax(impossible))} got no offer yet has propensity 1: "
                             "its weight 1 / (1 − propensity) is infinite")
        log.warning("quality: skipped %d untreated rows with propensity 1", int(impossible.sum()))
        keep = keep & ~impossible
    return keep, 1.0 / (1.0 - pi[keep])


def realized_quality(rows: Iterable[Sequence[float | bool | int]], *, skip_impossible: bool = False) -> Quality:
    """§13's realized quality from (probability, churned, propensity, treated) rows: untreated rows only,
    each weighted by 1 / (1 − propensity); `n` counts those rows; auc is None when a class is missing."""
    table = [tuple(row) for row in rows]
    if any(len(row) != 4 for row in table):
        raise ValueError("each row must be (probability, churned, propensity, treated)")
    columns = np.array(table, dtype=np.float64).reshape(-1, 4).T
    keep, w = untreated_weights(columns[2], columns[3] != 0, skip_impossible=skip_impossible)
    p, y = columns[0][keep], columns[1][keep]
    return Quality(n=int(keep.sum()), auc=weighted_auc(p, y, w), brier=brier_score(p, y, w),
                   ece=expected_calibration_error(p, y, w), calibration=calibration_bins(p, y, w))
