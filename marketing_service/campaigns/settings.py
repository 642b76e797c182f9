"""A campaign's targeting settings (DESIGN §8), read from a form, multipart fields or JSON, every bad one named."""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from marketing_service.customers.records import is_utf8
from marketing_service.offers.targets import MODES, expected_value, uplift_value

NAME_MAX = 100


class InvalidSettings(ValueError):
    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class CampaignSettings:
    mode: str = "threshold"
    threshold: float | None = None  # None: the model's own threshold (churn's `churn` decision)
    acceptance: float = 0.3  # chance a churner offered the deal stays
    horizon_months: float = 12.0  # months of charges a kept customer is worth
    offer_cost: float = 10.0  # what one offer costs
    max_offers: int | None = None  # the budget: at most this many, highest expected value first
    holdout: float = 0.1  # share of targeted customers kept as the control group
    # DESIGN §14: share of below-target customers offered anyway, so the offer's effect is learned at every score.
    # At most a half (LIMITS): an experiment beside the targeting, not a way of offering to everyone.
    explore: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def expected_value(self, probability: float, monthlycharges: float) -> float:
        return expected_value(probability, monthlycharges, self.acceptance, self.horizon_months, self.offer_cost)

    def uplift_value(self, uplift: float, monthlycharges: float) -> float:
        return uplift_value(uplift, monthlycharges, self.horizon_months, self.offer_cost)


def _number(raw: Any, low: float, high: float, integer: bool = False) -> float | int | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool):
        raise ValueError("must be a number")
    if type(raw) is int and not low <= raw <= high:  # a 400-digit JSON integer: no float holds it (OverflowError)
        raise ValueError(f"must be between {low:g} and {high:g}")
    try:
        value = float(raw.strip()) if isinstance(raw, str) else float(raw)
    except (TypeError, ValueError, OverflowError):
        raise ValueError("must be a number") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise ValueError(f"must be between {low:g} and {high:g}")
    if integer:
        if value != int(value):
            raise ValueError("must be a whole number")
        return int(value)
    return value


LIMITS = {  # field: (low, high, whole number)
    "threshold": (0.0, 1.0, False), "acceptance": (0.0, 1.0, False), "horizon_months": (0.0, 120.0, False),
    "offer_cost": (0.0, 1e6, False), "max_offers": (0, 10_000_000, True), "holdout": (0.0, 0.9, False),
    "explore": (0.0, 0.5, False),
}


def parse_settings(raw: Mapping[str, Any]) -> tuple[str, CampaignSettings]:
    """(name, settings), or InvalidSettings naming every bad field. Blank fields take their defaults."""
    errors: dict[str, str] = {}
    name = raw.get("name")
    name = name.strip() if isinstance(name, str) else ""
    if not name:
        errors["name"] = "is required"
    elif len(name) > NAME_MAX:
        errors["name"] = f"must be at most {NAME_MAX} characters"
    elif not is_utf8(name):
        errors["name"] = "must be valid Unicode text (it holds a lone surrogate)"
    mode = raw.get("mode") or "threshold"
    if mode not in MODES:
        errors["mode"] = f"must be one of {', '.join(MODES)}"
    values: dict[str, Any] = {}
    for field, (low, high, integer) in LIMITS.items():
        try:
            value = _number(raw.get(field), low, high, integer)
        except ValueError as exc:
            errors[field] = str(exc)
            continue
        if value is not None:
            values[field] = value
    if errors:
        raise InvalidSettings(errors)
    return name, CampaignSettings(mode=mode, **values)
