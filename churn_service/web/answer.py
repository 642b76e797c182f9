"""The one step every scoring route takes: score → decide → answer, counted in the metrics and the drift window.

The Flask routes and the plain-WSGI fast path both answer through here, so a record gets the same answer
(DESIGN §3's shape: its customerid when it sent one, first; `churn` by the contract's one rule; a fresh
`prediction_id`, DESIGN §13) whichever path served it, and every answer is counted once and handed, with its
prediction ids, to the shadow challenger (churn_service/shadow/), which scores it later on a thread of its own.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from prometheus_client import Histogram

from churn_service.model.kernel import ParsedBatch
from churn_service.serving import Serving
from churn_service.state import ChurnState
from churn_service.web.prediction_ids import prediction_ids
from feature_contract import churns


def answer_records(state: ChurnState, serving: Serving, records: Sequence[dict[str, Any]],
                   explain: bool) -> list[dict[str, Any]]:
    """One decision per parsed record, in order (reasons added when asked and the model can give them)."""
    scorer = serving.scorer
    probabilities = [scorer.score_one(records[0])] if len(records) == 1 else scorer.score_many(records)
    churned = [churns(p, serving.threshold) for p in probabilities]
    made = prediction_ids(len(records))
    answers = decision_list([r.get("customerid") for r in records], probabilities, churned, made)
    if explain and serving.explainer is not None:
        for answer, record in zip(answers, records, strict=True):
            answer["reasons"] = serving.explainer.reasons(record)
    record_predictions(state, probabilities, sum(churned))
    state.drift.observe(serving, records, probabilities)
    state.shadow.hand(made, serving.version, records)
    return answers


def answer_columns(state: ChurnState, serving: Serving, batch: ParsedBatch,
                   records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same for a batch the model's column kernel parsed (`records`, canonical, see model/kernel.py)."""
    assert serving.kernel is not None
    scored = serving.kernel.score(batch)
    churned = churns(scored, serving.threshold)
    probabilities = scored.tolist()
    record_predictions(state, probabilities, int(churned.sum()))
    columns = serving.drift_columns
    if columns is not None:
        state.drift.observe_rows(serving, lambda: columns.rows(batch, scored), scored)
    else:
        state.drift.observe(serving, records, probabilities)
    made = prediction_ids(len(probabilities))
    state.shadow.hand(made, serving.version, records, batch)
    return decision_list(batch.ids, probabilities, churned.tolist(), made)


def decision(customer_id: str | None, probability: float, churn: bool, prediction_id: str) -> dict[str, Any]:
    body: dict[str, Any] = {"churn_probability": probability, "churn": churn, "prediction_id": prediction_id}
    return body if customer_id is None else {"customerid": customer_id, **body}


def decision_list(ids: Sequence[str | None], probabilities: Sequence[float], churned: Sequence[bool],
                  made: Sequence[str]) -> list[dict[str, Any]]:
    """`decision` for a whole batch (`made`: their prediction ids); the usual batches (every id, or none) are
    built without a branch each."""
    if not any(ids):  # an id is never "": the contract needs 1 character or more
        return [{"churn_probability": p, "churn": c, "prediction_id": m}
                for p, c, m in zip(probabilities, churned, made, strict=True)]
    if None not in ids:
        return [{"customerid": i, "churn_probability": p, "churn": c, "prediction_id": m}
                for i, p, c, m in zip(ids, probabilities, churned, made, strict=True)]
    return list(map(decision, ids, probabilities, churned, made))


def record_predictions(state: ChurnState, probabilities: Sequence[float], churners: int) -> None:
    if churners:
        state.churn_outcome.inc(churners)
    if len(probabilities) > churners:
        state.no_churn_outcome.inc(len(probabilities) - churners)
    if len(probabilities) == 1:
        state.probabilities.observe(probabilities[0])
    else:
        observe_many(state.probabilities, probabilities)


def observe_many(histogram: Histogram, values: Sequence[float]) -> None:
    """`histogram.observe(v)` for every v, as one increment per bucket.

    prometheus-client has no bulk observe, so this uses its bucket and sum values directly; if a future
    release renames them it falls back to observing one value at a time.
    """
    try:
        bounds, buckets, total = histogram._upper_bounds, histogram._buckets, histogram._sum
    except AttributeError:
        for value in values:
            histogram.observe(value)
        return
    counts = np.bincount(np.searchsorted(bounds, values, side="left"), minlength=len(bounds))
    for bucket, count in zip(buckets, counts.tolist(), strict=True):
        if count:
            bucket.inc(count)
    total.inc(float(np.sum(values)))
