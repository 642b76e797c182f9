"""Who is worth an offer (DESIGN §8, §14): a likely churner at a threshold, a customer whose offer is worth more
than it costs, or (uplift) one whose predicted uplift is worth more than the offer costs. The threshold
comparison itself is the contract's (`feature_contract.churns`)."""
from __future__ import annotations

from feature_contract import churns

MODES = ("threshold", "expected_value", "uplift")


def expected_value(probability: float, monthlycharges: float, acceptance: float, horizon_months: float,
                   offer_cost: float) -> float:
    """What an offer to this customer is worth: the charges it may keep, less what it costs."""
    return probability * acceptance * monthlycharges * horizon_months - offer_cost


def uplift_value(uplift: float, monthlycharges: float, horizon_months: float, offer_cost: float) -> float:
    """The same sum in `uplift` mode: the predicted uplift (churn prevented by the offer) takes the place of
    probability · acceptance, the chance the offer keeps this customer, which it measures rather than assumes."""
    return uplift * monthlycharges * horizon_months - offer_cost


def is_target(mode: str, threshold: float | None, churn: bool, probability: float, value: float,
              uplift: float | None = None) -> bool:
    """`threshold` mode: at the given threshold, or None for the model's own (churn's `churn` flag);
    `expected_value` mode: worth more than it costs; `uplift` mode: a stored predicted uplift whose value
    (`uplift_value`, passed as `value`) is worth more than the offer costs."""
    if mode == "uplift":
        return uplift is not None and value > 0
    if mode == "expected_value":
        return value > 0
    return churn if threshold is None else churns(probability, threshold)
