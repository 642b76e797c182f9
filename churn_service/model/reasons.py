"""Why a customer scored high (DESIGN §8, `?explain=true`): the three largest positive contributions to the
log-odds, each feature's weights times its values against the training mean.

For a one-hot category that is w[f=v] − Σ_u share(u) · w[f=u] (the customer's category against the mix of
categories in training); for a number, w · (x − mean). Both are precomputed per field and value, so a
reason costs a few lookups per record.
"""
from __future__ import annotations

from typing import Any

REASONS = 3


class Explainer:
    def __init__(self, dv: Any, model: Any, feature_stats: dict[str, Any]):
        weights: dict[str, dict[str, float]] = {}
        numeric: dict[str, float] = {}
        for name, weight in zip(dv.feature_names_, model.coef_[0], strict=True):
            field, sep, value = name.partition(dv.separator)
            if sep:
                weights.setdefault(field, {})[value] = float(weight)
            else:
                numeric[field] = float(weight)
        self.categorical: list[tuple[str, dict[str, float], float]] = []
        for field, by_value in weights.items():
            shares = feature_stats[field]["frequencies"]
            baseline = sum(share * by_value.get(value, 0.0) for value, share in shares.items())
            self.categorical.append((field, {v: w - baseline for v, w in by_value.items()}, -baseline))
        self.numeric: list[tuple[str, float, float]] = [
            (field, weight, _training_mean(feature_stats[field])) for field, weight in numeric.items()]

    def reasons(self, record: dict[str, Any]) -> list[dict[str, Any]]:
        """Up to three {"feature", "value", "contribution"}, largest first; only features that raise the risk."""
        contributions = [(table.get(record[field], unseen), field) for field, table, unseen in self.categorical]
        contributions += [(weight * (record[field] - mean), field) for field, weight, mean in self.numeric]
        top = sorted((c for c in contributions if c[0] > 0), reverse=True)[:REASONS]
        return [{"feature": field, "value": record[field], "contribution": round(value, 6)} for value, field in top]


def _training_mean(stats: dict[str, Any]) -> float:
    if "mean" in stats:
        return float(stats["mean"])
    return float(stats["frequencies"].get("1", 0.0))  # a 0/1 feature: its mean is the share of ones


def build_explainer(dv: Any, model: Any, manifest: dict[str, Any]) -> Explainer | None:
    """None when the model is not a linear one over the DictVectorizer, or its manifest lacks the stats."""
    if not hasattr(model, "coef_") or not hasattr(dv, "feature_names_"):
        return None
    try:
        return Explainer(dv, model, manifest.get("feature_stats") or {})
    except (KeyError, TypeError, ValueError):
        return None
