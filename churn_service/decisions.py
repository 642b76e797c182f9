"""The one shape of a scored customer in every answer (DESIGN §3): its customerid when it sent one, first."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def decision(customer_id: str | None, probability: float, churn: bool) -> dict[str, Any]:
    body = {"churn_probability": probability, "churn": churn}
    return body if customer_id is None else {"customerid": customer_id, **body}


def decision_list(ids: Sequence[str | None], probabilities: Sequence[float],
                  churned: Sequence[bool]) -> list[dict[str, Any]]:
    """`decision` for a whole batch; the usual batches (every id, or none) are built without a branch each."""
    if not any(ids):  # an id is never "": the contract needs 1 character or more
        return [{"churn_probability": p, "churn": c} for p, c in zip(probabilities, churned, strict=True)]
    if None not in ids:
        return [{"customerid": i, "churn_probability": p, "churn": c}
                for i, p, c in zip(ids, probabilities, churned, strict=True)]
    return list(map(decision, ids, probabilities, churned))
