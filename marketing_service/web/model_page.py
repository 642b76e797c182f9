"""What the "Model" page shows: the model churn serves, the drift of its live traffic (DESIGN §7) and each
version's realized quality against its training AUC and churn's estimate before labels (DESIGN §13), as
rows ready to draw server-side (bars are SVG rects with a width attribute: no inline style or script, so the
page keeps its strict CSP)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

BAR_PX = 240
BAR_FULL_PSI = 0.4  # the bar's full width; larger values are drawn full and labelled with their value


@dataclass(frozen=True)
class DriftRow:
    name: str
    psi: float
    status: str

    @property
    def bar_px(self) -> int:
        return max(1, round(min(self.psi, BAR_FULL_PSI) / BAR_FULL_PSI * BAR_PX))


def drift_rows(drift: dict[str, Any]) -> list[DriftRow]:
    """The prediction first, then the features, worst first."""
    rows = [DriftRow(name, float(v["psi"]), str(v["status"])) for name, v in (drift.get("features") or {}).items()]
    rows.sort(key=lambda r: -r.psi)
    if drift.get("prediction"):
        rows.insert(0, DriftRow("churn probability (prediction)", float(drift["prediction"]["psi"]),
                                str(drift["prediction"]["status"])))
    return rows


def threshold_marks(drift: dict[str, Any] | None) -> list[tuple[str, int]]:
    """Where the warn and alert lines go: at the thresholds churn publishes in `GET /drift` (its drift/thresholds.py),
    so the page never draws numbers of its own; none while churn cannot say."""
    thresholds = (drift or {}).get("thresholds")
    if not isinstance(thresholds, dict):
        return []
    return [(name, round(min(float(value), BAR_FULL_PSI) / BAR_FULL_PSI * BAR_PX)) for name, value in thresholds.items()
            if name in ("warn", "alert") and isinstance(value, (int, float)) and not isinstance(value, bool)]


def model_summary(model: dict[str, Any]) -> dict[str, Any]:
    metrics = model.get("metrics") or {}
    return {"version": model.get("version", "?"), "test_auc": metrics.get("test_auc"),
            "cv_auc_mean": metrics.get("cv_auc_mean"), "cv_auc_std": metrics.get("cv_auc_std"),
            "trained_at": model.get("created_at", "?"), "n_train": model.get("n_train"),
            "warnings": model.get("warnings") or []}


PLOT_PX = 200  # the calibration plot's side


@dataclass(frozen=True)
class QualityRow:
    version: str
    n: int
    auc: float | None
    brier: float | None
    ece: float | None
    test_auc: float | None  # from training: churn's GET /model, for the version it serves
    estimated_auc: float | None  # before labels: churn's GET /drift, for the version it serves
    points: list[tuple[int, int, int]]  # calibration, drawn: (x px, y px, rows in the bin)


def quality_rows(versions: dict[str, Any], model: dict[str, Any] | None,
                 drift: dict[str, Any] | None) -> list[QualityRow]:
    """One row per labelled version, the served one first; churn's two numbers only where they belong."""
    served = (model or {}).get("version")
    estimated = (drift or {}).get("estimated_auc")
    rows = []
    for version, q in sorted(versions.items(), key=lambda item: (item[0] != served, item[0])):
        mine = version == served
        points = [(round(b["mean_predicted"] * PLOT_PX), round((1 - b["observed_rate"]) * PLOT_PX), int(b["n"]))
                  for b in q["calibration"]]
        rows.append(QualityRow(version, int(q["n"]), q["auc"], q["brier"], q["ece"],
                               (model or {}).get("test_auc") if mine else None,
                               float(estimated) if mine and isinstance(estimated, (int, float)) else None, points))
    return rows


CI_SPAN = 0.1  # the CI picture runs from −0.1 to +0.1 AUC; wider intervals are drawn to the edge


@dataclass(frozen=True)
class ShadowView:
    challenger: str | None  # what churn scores beside the champion now (GET /model's `shadow`)
    block: dict[str, Any] | None  # §13's `shadow` block, once both models have labelled rows

    @property
    def verdict(self) -> str:
        """In words: `better`, `worse` or `unclear`, as the 95 % CI of challenger − champion says."""
        if self.block is None:
            return "unclear"
        lo, hi = self.block["ci95"]
        return "better" if lo > 0 else "worse" if hi < 0 else "unclear"

    def x(self, value: float) -> int:
        """Where an AUC difference goes on the picture (BAR_PX wide, 0 in the middle)."""
        return round((max(-CI_SPAN, min(CI_SPAN, value)) + CI_SPAN) / (2 * CI_SPAN) * BAR_PX)


def shadow_view(model: dict[str, Any] | None, block: dict[str, Any] | None) -> ShadowView | None:
    """None when there is nothing to show: no challenger now and no comparison stored."""
    challenger = (model or {}).get("shadow")
    challenger = challenger if isinstance(challenger, str) else None
    return None if challenger is None and block is None else ShadowView(challenger, block)
