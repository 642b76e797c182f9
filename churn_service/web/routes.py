"""The churn HTTP routes (DESIGN §3)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, request

from churn_service.model.artifact import installed_sklearn
from churn_service.serving import Serving
from churn_service.state import ChurnState
from churn_service.web.answer import answer_columns, answer_records
from churn_service.web.fast_path import NOT_CANONICAL
from feature_contract import InvalidRecord, parse_record, parse_record_in_full
from http_common.errors import ApiError, json_response, read_json

api = Blueprint("churn", __name__)


def _state() -> ChurnState:
    return current_app.extensions["churn"]


def _explain_requested() -> bool:
    raw = request.args.get("explain", "false").strip().lower()
    if raw not in ("true", "1", "false", "0"):
        raise ApiError(422, "invalid_parameter", "explain must be true or false",
                       [{"field": "explain", "message": f"must be true or false, got {raw[:40]!r}"}])
    return raw in ("true", "1")


@api.post("/predict")
def predict():
    state = _state()
    body = read_json(request)
    try:  # a record the fast path found not canonical goes straight to the full parser
        record = parse_record_in_full(body) if request.environ.get(NOT_CANONICAL) else parse_record(body)
    except InvalidRecord as exc:
        raise ApiError(422, "invalid_record", "the customer record is invalid",
                       [e.as_dict() for e in exc.errors]) from None
    serving = state.serving  # once: the model that scores is the model reported
    [answer] = answer_records(state, serving, [record], _explain_requested())
    answer["model_version"] = serving.version
    return json_response(answer)


def _batch_records(body: Any, max_batch: int) -> list[dict[str, Any]]:
    """All records parsed, or one 422 listing every bad field of every bad record by index."""
    customers = body.get("customers") if isinstance(body, dict) else None
    if not isinstance(customers, list) or not customers:
        raise ApiError(422, "invalid_batch", 'send {"customers": [...]} with at least one customer',
                       [{"field": "customers", "message": "must be a non-empty array of customer objects"}])
    if len(customers) > max_batch:
        raise ApiError(413, "batch_too_large", f"at most {max_batch} customers per batch, got {len(customers)}")
    records: list[dict[str, Any]] = []
    details: list[dict[str, Any]] = []
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
    body = read_json(request)
    serving = state.serving
    predictions = _canonical_batch(state, serving, body)
    if predictions is None:
        records = _batch_records(body, state.config.max_batch)
        predictions = answer_records(state, serving, records, _explain_requested())
    return json_response({"predictions": predictions, "model_version": serving.version})


def _canonical_batch(state: ChurnState, serving: Serving, body: Any) -> list[dict[str, Any]] | None:
    """The answers for a batch of canonical records through the model's column kernel (model/kernel.py), or
    None when the batch needs the full path: its errors, its reasons (`?explain=true`) or its size limit."""
    customers = body.get("customers") if type(body) is dict else None
    kernel = serving.kernel
    if (kernel is None or type(customers) is not list or not 0 < len(customers) <= state.config.max_batch
            or request.args):
        return None
    batch = kernel.parse(customers)
    return None if batch is None else answer_columns(state, serving, batch, customers)


@api.get("/healthz")
def healthz():
    return jsonify({"status": "ok"})


@api.get("/readyz")
def readyz():
    # A worker only exists once its model loaded and verified, so reaching this route means ready.
    return jsonify({"status": "ready", "model_version": _state().serving.version})


@api.get("/model")
def model_info():
    state = _state()
    serving = state.serving
    challenger = state.shadow.scoring_beside(serving.version)
    return jsonify({**serving.model.manifest, "installed_sklearn_version": installed_sklearn(),
                    "warnings": state.warnings(), "shadow": None if challenger is None else challenger.version})


@api.get("/drift")
def drift():
    state = _state()
    return jsonify(state.drift.report(state.serving))


@api.get("/openapi.json")
def openapi():
    return jsonify(_state().openapi)
