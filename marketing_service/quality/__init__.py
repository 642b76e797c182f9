"""Model quality measured against outcomes (DESIGN §13): weighted AUC, Brier, calibration, ECE, paired DeLong."""
from __future__ import annotations

from marketing_service.quality.delong import PairedAuc, delong_covariance, paired_auc, shadow_comparison
from marketing_service.quality.metrics import (
    CalibrationBin,
    Quality,
    brier_score,
    calibration_bins,
    expected_calibration_error,
    realized_quality,
    untreated_weights,
    weighted_auc,
)

__all__ = [
    "CalibrationBin",
    "PairedAuc",
    "Quality",
    "brier_score",
    "calibration_bins",
    "delong_covariance",
    "expected_calibration_error",
    "paired_auc",
    "realized_quality",
    "shadow_comparison",
    "untreated_weights",
    "weighted_auc",
]
