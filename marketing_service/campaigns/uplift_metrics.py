"""How well a targeting score ranks customers by the effect of an offer (DESIGN §14): scikit-uplift 0.5.1's Qini
and uplift-curve areas and uplift at k, re-done in numpy because the marketing image has neither sklift nor
scikit-learn. Same order (a stable sort reversed, so tied scores keep sklift's order), same curve points at
each distinct score, same normalisation by the perfect curve, same k as a share; tests pin equality to 1e-9.
Where sklift raises (y or treatment of one value only, a zero-area perfect curve) or gives NaN (an arm
absent from the top k) the answer here is None, so no NaN reaches JSON.
"""
from __future__ import annotations

from typing import Any, Literal

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
K_SHARES = {"10": 0.1, "20": 0.2, "30": 0.3}


def _inputs(y: npt.ArrayLike, score: npt.ArrayLike, treatment: npt.ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
    yy, ss, tt = (np.asarray(a, dtype=np.float64).ravel() for a in (y, score, treatment))
    if not yy.size == ss.size == tt.size:
        raise ValueError("y, score and treatment need the same length")
    if np.any((yy != 0) & (yy != 1)) or np.any((tt != 0) & (tt != 1)):
        raise ValueError("y and treatment must hold 0 and 1 only")
    return yy, ss, tt


def _both_values(*arrays: FloatArray) -> bool:
    """sklift's check_is_binary: each array holds both 0 and 1 (it raises otherwise)."""
    return all(a.size and a.min() == 0 and a.max() == 1 for a in arrays)


def _descending(score: FloatArray) -> npt.NDArray[np.intp]:
    return np.argsort(score, kind="mergesort")[::-1]


def _curve(y: FloatArray, score: FloatArray, t: FloatArray, kind: Literal["qini", "uplift"],
           order: npt.NDArray[np.intp] | None = None) -> tuple[FloatArray, FloatArray]:
    """sklift's qini_curve / uplift_curve: cumulative counts at the last row of each distinct score, from (0, 0)."""
    order = _descending(score) if order is None else order
    y, score, t = y[order], score[order], t[order]
    cut = np.r_[np.flatnonzero(np.diff(score)), score.size - 1]
    num_trmnt = np.cumsum(t)[cut]
    y_trmnt = np.cumsum(y * t)[cut]
    y_ctrl = np.cumsum(y * (1 - t))[cut]
    num_all = (cut + 1).astype(np.float64)
    num_ctrl = num_all - num_trmnt
    if kind == "qini":
        values = y_trmnt - y_ctrl * np.divide(num_trmnt, num_ctrl, out=np.zeros_like(num_trmnt), where=num_ctrl != 0)
    else:
        values = (np.divide(y_trmnt, num_trmnt, out=np.zeros_like(y_trmnt), where=num_trmnt != 0)
                  - np.divide(y_ctrl, num_ctrl, out=np.zeros_like(y_ctrl), where=num_ctrl != 0)) * num_all
    return np.r_[0.0, num_all], np.r_[0.0, values]


def _normalised_area(actual: tuple[FloatArray, FloatArray], perfect: tuple[FloatArray, FloatArray]) -> float | None:
    """(area under actual − baseline) / (area under perfect − baseline), the baseline the diagonal to perfect's end."""
    baseline = float(np.trapezoid([0.0, perfect[1][-1]], [0.0, perfect[0][-1]]))
    best = float(np.trapezoid(perfect[1], perfect[0])) - baseline
    if best == 0:
        return None
    value = (float(np.trapezoid(actual[1], actual[0])) - baseline) / best
    return value if np.isfinite(value) else None


def qini_curve(y: npt.ArrayLike, score: npt.ArrayLike, treatment: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """sklift.metrics.qini_curve: (customers taken, incremental responders) at each distinct score, best first."""
    return _curve(*_inputs(y, score, treatment), "qini")


def perfect_qini_curve(y: npt.ArrayLike, treatment: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """sklift's perfect Qini curve with negative effects (treated responders first, control responders last)."""
    yy, _, tt = _inputs(y, np.zeros(np.size(y)), treatment)
    return _curve(yy, yy * tt - yy * (1 - tt), tt, "qini")


def qini_auc_score(y: npt.ArrayLike, score: npt.ArrayLike, treatment: npt.ArrayLike) -> float | None:
    """sklift.metrics.qini_auc_score (negative_effect=True, its default): the Qini coefficient."""
    yy, ss, tt = _inputs(y, score, treatment)
    return _qini_auc(yy, ss, tt, None) if _both_values(yy, tt) else None


def _qini_auc(y: FloatArray, score: FloatArray, t: FloatArray, order: npt.NDArray[np.intp] | None) -> float | None:
    return _normalised_area(_curve(y, score, t, "qini", order), _curve(y, y * t - y * (1 - t), t, "qini"))


def uplift_auc_score(y: npt.ArrayLike, score: npt.ArrayLike, treatment: npt.ArrayLike) -> float | None:
    """sklift.metrics.uplift_auc_score: the area under the uplift curve, normalised by the perfect one."""
    yy, ss, tt = _inputs(y, score, treatment)
    return _uplift_auc(yy, ss, tt, None) if _both_values(yy, tt) else None


def _uplift_auc(y: FloatArray, score: FloatArray, t: FloatArray, order: npt.NDArray[np.intp] | None) -> float | None:
    control_responders = np.sum((y == 1) & (t == 0))
    treated_nonresponders = np.sum((y == 0) & (t == 1))
    perfect_score = 2.0 * (y == t) + (y if control_responders > treated_nonresponders else t)
    return _normalised_area(_curve(y, score, t, "uplift", order), _curve(y, perfect_score, t, "uplift"))


def uplift_at_k(y: npt.ArrayLike, score: npt.ArrayLike, treatment: npt.ArrayLike,
                strategy: Literal["overall", "by_group"], k: float = 0.3) -> float | None:
    """sklift.metrics.uplift_at_k for a share k in (0, 1): response rate of treated minus control among the top
    int(n·k) rows overall, or among the top int(n_arm·k) rows of each arm ('by_group')."""
    yy, ss, tt = _inputs(y, score, treatment)
    if not 0 < k < 1:
        raise ValueError("k is a share between 0 and 1")
    return _uplift_at_k(yy, tt, _descending(ss), strategy, k) if _both_values(yy, tt) else None


def _uplift_at_k(y: FloatArray, t: FloatArray, order: npt.NDArray[np.intp], strategy: str, k: float) -> float | None:
    y, treated = y[order], t[order] == 1
    if strategy == "overall":
        top = int(y.size * k)
        y_t, y_c = y[:top][treated[:top]], y[:top][~treated[:top]]
    elif strategy == "by_group":
        y_t = y[treated][: int(treated.sum() * k)]
        y_c = y[~treated][: int((~treated).sum() * k)]
    else:
        raise ValueError("strategy is 'overall' or 'by_group'")
    if y_t.size == 0 or y_c.size == 0:  # sklift: the mean of an empty slice, NaN
        return None
    return float(y_t.sum() / y_t.size - y_c.sum() / y_c.size)


def uplift_metrics(y: npt.ArrayLike, score: npt.ArrayLike, treatment: npt.ArrayLike) -> dict[str, Any]:
    """The report's block (DESIGN §14): {"qini_auc", "uplift_auc", "uplift_at_k": {"overall": {"10", "20", "30"},
    "by_group": {...}}}, y = retained, treatment = offered; None for each value that is undefined."""
    yy, ss, tt = _inputs(y, score, treatment)
    if not _both_values(yy, tt):
        return {"qini_auc": None, "uplift_auc": None,
                "uplift_at_k": {s: dict.fromkeys(K_SHARES) for s in ("overall", "by_group")}}
    order = _descending(ss)
    return {"qini_auc": _qini_auc(yy, ss, tt, order), "uplift_auc": _uplift_auc(yy, ss, tt, order),
            "uplift_at_k": {s: {key: _uplift_at_k(yy, tt, order, s, k) for key, k in K_SHARES.items()}
                            for s in ("overall", "by_group")}}


def qini_picture(y: npt.ArrayLike, score: npt.ArrayLike, treatment: npt.ArrayLike, points: int = 101) -> dict[str, list[float]]:
    """The Qini curve for a picture, read at `points` evenly spaced shares of customers: "share", "model",
    "perfect" and "random" (the diagonal to the model's end), in incremental responders. Empty without both arms."""
    yy, ss, tt = _inputs(y, score, treatment)
    if not _both_values(tt):
        return {"share": [], "model": [], "perfect": [], "random": []}
    x, model = _curve(yy, ss, tt, "qini")
    px, perfect = _curve(yy, yy * tt - yy * (1 - tt), tt, "qini")
    share = np.linspace(0.0, 1.0, points)
    at = share * yy.size
    return {"share": share.tolist(), "model": np.interp(at, x, model).tolist(),
            "perfect": np.interp(at, px, perfect).tolist(), "random": (share * model[-1]).tolist()}
