"""Realized model quality as DESIGN §13 defines it: weighted AUC, Brier score, calibration bins and ECE, measured
on customers who got no offer, each weighted by 1 / (1 − propensity), because an offer changes the very outcome
the score predicts. Pure functions over sequences of numbers (no Flask, no database; plain Python, written before the
image carried numpy), so tests can pin them to known truth."""
from __future__ import annotations

import logging
import math
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from typing import TypedDict

log = logging.getLogger(__name__)

# Any iterable of numbers: a list, a tuple, a numpy array in the tests.
Numbers = Iterable[float]
# Inner edges k/10: bin k holds [k/10, (k+1)/10), and 1.0 falls in the last bin (bisect_right).
_INNER_EDGES = [k / 10 for k in range(1, 10)]
_SHAPE = "scores, labels and weights must be 1-d arrays of one length"


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


def floats(values: Numbers, message: str) -> list[float]:
    """The values as Python floats; anything that is not a flat run of numbers is refused with `message`."""
    try:
        return list(map(float, values))
    except (TypeError, ValueError):
        raise ValueError(message) from None


def labels_ok(y: list[float]) -> bool:
    """Every label 0 or 1 (a set of the labels holds nothing else; NaN, never equal to itself, stays in it)."""
    return not set(y) - {0.0, 1.0}


def weights_ok(w: list[float]) -> bool:
    """Every weight finite and non-negative (finiteness first: min() is not defined with NaN)."""
    return all(map(math.isfinite, w)) and min(w, default=0) >= 0


def _labels_and_weights(churned: Numbers, weight: Numbers | None, length: int) -> tuple[list[float], list[float]]:
    y = floats(churned, _SHAPE)
    w = [1.0] * length if weight is None else floats(weight, _SHAPE)
    if len(y) != length or len(w) != length:
        raise ValueError(_SHAPE)
    if not labels_ok(y):
        raise ValueError("churned must be 0 or 1")
    if not weights_ok(w):
        raise ValueError("weights must be finite and non-negative")
    return y, w


def _probabilities(probability: Numbers, churned: Numbers, weight: Numbers | None) -> tuple[list[float], ...]:
    message = "probabilities must be a 1-d array of values in [0, 1]"
    p = floats(probability, message)
    if not (all(map(math.isfinite, p)) and min(p, default=0) >= 0 and max(p, default=1) <= 1):
        raise ValueError(message)
    return (p, *_labels_and_weights(churned, weight, len(p)))


def tied_groups(score: Sequence[float], pos: Sequence[float],
                neg: Sequence[float]) -> tuple[list[float], list[float], list[int]]:
    """The positive and the negative weight of each group of tied scores, ascending, and each row's group: one
    stable sort, O(n log n), so tied rows need no pairwise comparison (and sum in row order, as numpy did)."""
    pos_g: list[float] = []
    neg_g: list[float] = []
    group = [0] * len(score)
    k, last = -1, math.nan  # NaN equals no score
    for i in sorted(range(len(score)), key=score.__getitem__):
        x = score[i]
        if x != last:
            k, last = k + 1, x
            pos_g.append(pos[i])
            neg_g.append(neg[i])
        else:
            pos_g[k] += pos[i]
            neg_g[k] += neg[i]
        group[i] = k
    return pos_g, neg_g, group


def weighted_auc(score: Numbers, churned: Numbers, weight: Numbers | None = None) -> float | None:
    """P(score of a churner > score of a stayer), pairs weighted by the product of their weights, ties ½.
    Summing per tied group of the sorted scores makes it O(n log n); None when a class has no weight."""
    message = "scores must be a 1-d array of finite numbers"
    s = floats(score, message)
    if not all(map(math.isfinite, s)):
        raise ValueError(message)
    y, w = _labels_and_weights(churned, weight, len(s))
    pos = [wi if yi else 0.0 for wi, yi in zip(w, y, strict=True)]
    neg = [0.0 if yi else wi for wi, yi in zip(w, y, strict=True)]
    total_pos, total_neg = math.fsum(pos), math.fsum(neg)
    if total_pos <= 0 or total_neg <= 0:
        return None
    pos_g, neg_g, _ = tied_groups(s, pos, neg)
    terms, below = [], 0.0
    for p, q in zip(pos_g, neg_g, strict=True):
        terms.append(p * (below + 0.5 * q))
        below += q
    return math.fsum(terms) / (total_pos * total_neg)


def brier_score(probability: Numbers, churned: Numbers, weight: Numbers | None = None) -> float | None:
    """Weighted mean of (p − y)²; None when there is no weight at all."""
    p, y, w = _probabilities(probability, churned, weight)
    total = math.fsum(w)
    if total <= 0:
        return None
    return math.fsum(wi * (pi - yi) ** 2 for pi, yi, wi in zip(p, y, w, strict=True)) / total


def _bin_sums(probability: Numbers, churned: Numbers, weight: Numbers | None) -> tuple[list[float], ...]:
    """Per bin: row count, weight, weighted Σp and weighted Σy — the one place the §13 binning lives."""
    p, y, w = _probabilities(probability, churned, weight)
    count, total, sum_p, sum_y = ([0.0] * 10 for _ in range(4))
    for pi, yi, wi in zip(p, y, w, strict=True):
        k = bisect_right(_INNER_EDGES, pi)
        count[k] += 1
        total[k] += wi
        sum_p[k] += wi * pi
        sum_y[k] += wi * yi
    return count, total, sum_p, sum_y


def calibration_bins(probability: Numbers, churned: Numbers, weight: Numbers | None = None) -> list[CalibrationBin]:
    """The non-empty bins of 10 equal-width bins; `n` counts rows, the means are weighted (bins whose rows all
    weigh 0 are left out, as their means do not exist)."""
    count, total, sum_p, sum_y = _bin_sums(probability, churned, weight)
    return [
        CalibrationBin(lo=k / 10, hi=(k + 1) / 10, n=int(count[k]),
                       mean_predicted=sum_p[k] / total[k], observed_rate=sum_y[k] / total[k])
        for k in range(10) if count[k] > 0 and total[k] > 0
    ]


def expected_calibration_error(probability: Numbers, churned: Numbers, weight: Numbers | None = None) -> float | None:
    """Σ over bins of (the bin's share of the weight) · |mean predicted − observed rate|; None without weight."""
    _, total, sum_p, sum_y = _bin_sums(probability, churned, weight)
    weight_sum = math.fsum(total)
    if weight_sum <= 0:
        return None
    return math.fsum(abs(sp - sy) for sp, sy, t in zip(sum_p, sum_y, total, strict=True) if t > 0) / weight_sum


def untreated_weights(propensity: Numbers, treated: Iterable[object], *,
                      skip_impossible: bool = False) -> tuple[list[bool], list[float]]:
    """Which rows count (no offer) and their weights 1 / (1 − propensity): a customer kept out with chance
    1 − π stands for 1 / (1 − π) customers like them, so the untreated rows represent everyone.

    An untreated row with propensity ≥ 1 cannot happen by design (it would have had an offer) and has no finite
    weight: it is refused with ValueError, or, with skip_impossible, left out and logged."""
    message = "propensity and treated must be 1-d arrays of one length"
    pi = floats(propensity, message)
    off = [bool(t) for t in treated]
    if len(pi) != len(off):
        raise ValueError(message)
    keep = [not t for t in off]
    for row, (k, value) in enumerate(zip(keep, pi, strict=True)):
        if k and not 0 <= value <= 1:
            raise ValueError(f"propensity must lie in [0, 1]; row {row} has {value!r}")
    impossible = [k and value >= 1 for k, value in zip(keep, pi, strict=True)]
    if any(impossible):
        if not skip_impossible:
            raise ValueError(f"row {impossible.index(True)} got no offer yet has propensity 1: "
                             "its weight 1 / (1 − propensity) is infinite")
        log.warning("quality: skipped %d untreated rows with propensity 1", sum(impossible))
        keep = [k and not bad for k, bad in zip(keep, impossible, strict=True)]
    return keep, [1.0 / (1.0 - value) for k, value in zip(keep, pi, strict=True) if k]


def columns(rows: Iterable[Sequence[float | bool | int]], width: int, message: str) -> list[list[float]]:
    """Rows of `width` numbers as `width` float columns; None reads as NaN (as numpy's float conversion has it),
    so the checks downstream refuse it where a number is required."""
    table = [tuple(row) for row in rows]
    if any(len(row) != width for row in table):
        raise ValueError(message)
    return [[math.nan if row[c] is None else float(row[c]) for row in table] for c in range(width)]


def realized_quality(rows: Iterable[Sequence[float | bool | int]], *, skip_impossible: bool = False) -> Quality:
    """§13's realized quality from (probability, churned, propensity, treated) rows: untreated rows only,
    each weighted by 1 / (1 − propensity); `n` counts those rows; auc is None when a class is missing."""
    prob, churned, propensity, treated = columns(rows, 4, "each row must be (probability, churned, propensity, treated)")
    keep, w = untreated_weights(propensity, [t != 0 for t in treated], skip_impossible=skip_impossible)
    p = [v for v, k in zip(prob, keep, strict=True) if k]
    y = [v for v, k in zip(churned, keep, strict=True) if k]
    return Quality(n=sum(keep), auc=weighted_auc(p, y, w), brier=brier_score(p, y, w),
                   ece=expected_calibration_error(p, y, w), calibration=calibration_bins(p, y, w))
