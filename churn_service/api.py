"""The churn HTTP routes (DESIGN §3)."""
from __future__ import annotations

from typing import Any

import sklearn
from flask import Blueprint, current_app, jsonify, request

from churn_service.state import ChurnState
from churn_service.features import InvalidRecord, parse_record
from http_common.errors import ApiError, read_json

api = Blueprint("churn", __name__)


def _state() -> ChurnState:
    return current_app.extensions["churn"]


def _decide(state: ChurnState, record: dict[str, Any], probability: float) -> dict[str, Any]:
    churn = probability >= state.model.threshold
    state.predictions.labels("churn" if churn else "no_churn").inc()
    state.probabilities.observe(probability)
    decision: dict[str, Any] = {"churn_probability": probability, "churn": churn}
    if "customerid" in record:
        decision = {"customerid": record["customerid"], **decision}
    return decision


@api.post("/predict")
def predict():
    state = _state()
    try:
        record = parse_record(read_json(request))
    except InvalidRecord as exc:
        raise ApiError(422, "invalid_record", "the customer record is invalid", [e.as_dict() for e in exc.errors])
    decision = _decide(state, record, state.scorer.score_one(record))
    decision["model_version"] = state.model.version
    return jsonify(decision)


def _batch_records(body: Any, max_batch: int) -> list[dict[str, Any]]:
    """All records parsed, or one 422 listing every bad field of every bad record by index."""
    customers = body.get("customers") if isinstance(body, dict) else None
    if not isinstance(customers, list) or not customers:
        raise ApiError(422, "invalid_batch", 'send {"customers": [...]} with at least one customer',
                       [{"field": "customers", "message": "must be a non-empty array of customer objects"}])
    if len(customers) > max_batch:
        raise ApiError(413, "batch_too_large", f"at most {max_batch} customers per batch, got {len(customers)}")
    records, details = [], []
    for index, raw in enumerate(customers):
        try:
            records.append(parse_record(raw))
        except InvalidRecord as exc:
            details.extend({"index": index, **e.as_dict()} for e in exc.errors)
    if details:
        bad = len({d["index"] for d in details})
        raise ApiError(422, "invalid_record", f"{bad} of {len(customers)} customers are invalid; nothing was scored",
                       details)
    return records


@api.post("/predict/batch")
def predict_batch():
    state = _state()
    records = _batch_records(read_json(request), state.config.max_batch)
    probabilities = state.scorer.score_many(records)
    predictions = [_decide(state, r, p) for r, p in zip(records, probabilities)]
    return jsonify({"predictions": predictions, "model_version": state.model.version})


@api.get("/healthz")
def healthz():
    return jsonify({"status": "ok"})


@api.get("/readyz")
def readyz():
    # A worker only exists once its model loaded and verified, so reaching this route means ready.
    return jsonify({"status": "ready", "model_version": _state().model.version})


@api.get("/model")
def model_info():
    model = _state().model
    return jsonify({**model.manifest, "installed_sklearn_version": sklearn.__version__, "warnings": model.warnings})


@api.get("/openapi.json")
def openapi():
    return jsonify(_state().openapi)
