"""A campaign's experiment report (DESIGN §14): its targeted customers read into numpy arrays by ONE query, then
the lift of the offer (y = retained = 1 − churned, treatment = offered) with a fixed-horizon Wald interval and
an anytime-valid confidence sequence, the CUPED-adjusted lift, the sample-ratio check, the uplift metrics and
Qini curve of the targeting score, and the lift at each look (each time outcomes were recorded).

The arms are DESIGN §8's: targeted customers offered (explored ones aside: they train the uplift model) and
held out. The sample-ratio check counts every assigned customer, outcome or not. Without outcomes in both arms
every statistic of the lift is null (never NaN), and the counts are still given.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from marketing_service.campaigns import stats, uplift_metrics
from marketing_service.campaigns.outcomes import uplift
from marketing_service.storage import Connection

SRM_ALPHA = 0.001  # DESIGN §14: a split this unlikely under the design is a bug, not chance
MAX_LOOKS = 60  # looks drawn; more uploads than this show the latest and an even spread of the earlier ones
SCORE_COLUMN = {"threshold": "churn_probability", "expected_value": "expected_value", "uplift": "uplift"}
_ROWS = """SELECT r.decision = 'offer', r.churned, r.churn_probability, r.{score}, COALESCE(o.recorded_at, ''),
                  r.customerid
           FROM campaign_rows r LEFT JOIN outcomes o
             ON o.source = 'campaign' AND o.decision_ref = r.campaign_id AND o.customerid = r.customerid
           WHERE r.campaign_id = ? AND (r.decision = 'holdout' OR (r.decision = 'offer' AND r.explored = 0))"""


@dataclass(frozen=True)
class Arms:
    """One entry per assigned customer, in customerid order: offered (else holdout), churned (NaN: no outcome
    yet), the churn probability at targeting (CUPED's x), the targeting score, and when its outcome was recorded
    ('' if none or unknown)."""
    offered: npt.NDArray[np.bool_]
    churned: npt.NDArray[np.float64]
    probability: npt.NDArray[np.float64]
    score: npt.NDArray[np.float64]
    recorded_at: npt.NDArray[np.str_]


def gather(conn: Connection, campaign_id: int, mode: str) -> Arms:
    """The campaign's arms, sorted here rather than by ORDER BY: SQL sorts text by the database's collation
    (PostgreSQL's locale, SQLite's bytes), and uplift at k cuts through tied scores in this order, so it must be
    the same on both: a stable sort of the customerid strings by code point."""
    rows = conn.execute(_ROWS.format(score=SCORE_COLUMN.get(mode, "churn_probability")), (campaign_id,)).fetchall()
    columns = list(zip(*rows, strict=True)) if rows else [()] * 6
    order = np.argsort(np.array(columns[5], dtype=np.str_), kind="stable")
    floats = [np.array(c, dtype=np.float64)[order] for c in columns[1:4]]  # None becomes NaN
    score = floats[2]
    if np.isnan(score).any():  # a row scored before its mode's column existed ranks last
        score = np.where(np.isnan(score), (np.nanmin(score) - 1) if not np.isnan(score).all() else 0.0, score)
    return Arms(np.array(columns[0], dtype=bool)[order], floats[0], floats[1], score,
                np.array(columns[4], dtype=np.str_)[order])


def _pair(bounds: tuple[float, float]) -> list[float]:
    return [float(bounds[0]), float(bounds[1])]


def _lift(y: npt.NDArray[np.float64], offered: npt.NDArray[np.bool_]) -> dict[str, Any]:
    """The difference with both intervals, for the rows given; nulls without both arms."""
    y_o, y_h = y[offered], y[~offered]
    if not y_o.size or not y_h.size:
        return {"offered": int(y_o.size), "holdout": int(y_h.size), "difference": None, "wald95": None,
                "sequence95": None}
    return {"offered": int(y_o.size), "holdout": int(y_h.size), "difference": float(y_o.mean() - y_h.mean()),
            "wald95": _pair(stats.wald_interval(y_o, y_h)), "sequence95": _pair(stats.confidence_sequence(y_o, y_h))}


def looks(y: npt.NDArray[np.float64], offered: npt.NDArray[np.bool_], recorded_at: npt.NDArray[np.str_]) -> list[dict[str, Any]]:
    """The lift as it stood after each outcomes upload: cumulative over the rows recorded up to that stamp. A
    re-posted outcome counts at its latest upload (the outcomes table keeps one label per decision)."""
    order = np.argsort(recorded_at, kind="stable")
    y, offered, recorded_at = y[order], offered[order], recorded_at[order]
    stamps = np.unique(recorded_at)
    if stamps.size > MAX_LOOKS:
        stamps = stamps[np.unique(np.linspace(0, stamps.size - 1, MAX_LOOKS).round().astype(int))]
    ends = np.searchsorted(recorded_at, stamps, side="right")
    return [{"recorded_at": str(stamp) or None, **_lift(y[:end], offered[:end])} for stamp, end in zip(stamps, ends, strict=True)]


def _group(churned: npt.NDArray[np.float64]) -> dict[str, Any]:
    return {"customers": int(churned.size), "churned": int(churned.sum()),
            "churn_rate": float(churned.mean()) if churned.size else None}


def build(conn: Connection, campaign_id: int, settings: dict[str, Any]) -> dict[str, Any]:
    """The body of GET /api/campaigns/<id>/report."""
    mode = settings.get("mode") or "threshold"
    arms = gather(conn, campaign_id, mode)
    n_offered, n_holdout = int(arms.offered.sum()), int((~arms.offered).sum())
    holdout_share = float(settings.get("holdout", 0.1))
    p_value = stats.sample_ratio_p_value(n_offered, n_holdout, holdout_share)
    labelled = ~np.isnan(arms.churned)
    churned, offered = arms.churned[labelled], arms.offered[labelled]
    y, x, score = 1.0 - churned, arms.probability[labelled], arms.score[labelled]
    base = uplift((int(churned[offered].sum()), int(offered.sum())), (int(churned[~offered].sum()), int((~offered).sum())))
    lift = _lift(y, offered)
    both = lift["difference"] is not None
    cuped: dict[str, Any] = {"theta": None, "difference": None, "ci95": None}
    if both:
        theta, difference, lo, hi = stats.cuped(y, x, offered)
        cuped = {"theta": theta, "difference": difference, "ci95": [lo, hi]}
    picture = uplift_metrics.qini_picture(y, score, offered) if both else None
    return {
        "campaign_id": campaign_id, "mode": mode, "score": SCORE_COLUMN.get(mode, "churn_probability"),
        "assigned": {"offered": n_offered, "holdout": n_holdout},
        "offered": _group(churned[offered]), "holdout": _group(churned[~offered]),
        "difference": base["difference"] if base else None, "ci95": base["ci95"] if base else None,
        "customers_kept": base["customers_kept"] if base else None,
        "wald95": lift["wald95"], "sequence95": lift["sequence95"], "cuped": cuped,
        "srm": {"p_value": p_value, "flagged": p_value < SRM_ALPHA, "holdout_share": holdout_share,
                "observed_holdout_share": n_holdout / (n_offered + n_holdout) if n_offered + n_holdout else None},
        "uplift_metrics": uplift_metrics.uplift_metrics(y, score, offered),
        "qini_curve": None if picture is None or not picture["share"] else
        {key: picture[key] for key in ("share", "model", "random")},
        "looks": looks(y, offered, arms.recorded_at[labelled]) if both else [],
    }
