"""Who is worth an offer (DESIGN §8): a likely churner at a threshold, or a customer whose offer is worth more
than it costs. The threshold comparison itself is the contract's (`feature_contract.churns`)."""
from __future__ import annotations

from feature_contract import churns

MODES = ("threshold", "expected_value")


def expected_value(probability: float, monthlycharges: float, acceptance: float, horizon_months: float,
                   offer_cost: float) -> float:
    """What an offer to this customer is worth: the charges it may keep, less what it costs."""
    return probability * acceptance * monthlycharges * horizon_months - offer_cost


def is_target(mode: str, threshold: float | None, churn: bool, probability: float, value: float) -> bool:
    """`threshold` mode: at the given threshold, or None for the model's own (churn's `churn` flag);
    `expected_value` mode: worth more than it costs."""
    if mode == "expected_value":
        return value > 0
    return churn if threshold is None else churns(probability, threshold)
