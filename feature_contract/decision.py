"""What `churn` means (DESIGN §3): a churn probability at or above the model's threshold.

The one comparison every path makes: churn's single, batch and column answers, the Spark job, and marketing's
threshold targeting (tests/unit/test_one_rule_one_place.py holds them to it at the exact threshold).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, overload

if TYPE_CHECKING:  # marketing imports this module, and its image has no numpy
    import numpy as np
    import numpy.typing as npt


@overload
def churns(probability: float, threshold: float) -> bool: ...


@overload
def churns(probability: npt.NDArray[np.float64], threshold: float) -> npt.NDArray[np.bool_]: ...


def churns(probability: float | npt.NDArray[np.float64], threshold: float) -> bool | npt.NDArray[np.bool_]:
    return probability >= threshold
