"""The OpenAPI 3 document of the churn service, generated from the feature contract so it cannot drift."""
from __future__ import annotations

from typing import Any

from churn_service.web.token_guard import is_guarded
from feature_contract import BINARY, CATEGORICAL, CUSTOMER_ID_MAX, NUMERIC
from http_common.openapi import ERROR_SCHEMA, with_server_limits

JSON = "application/json"


def customer_schema() -> dict[str, Any]:
    properties: dict[str, Any] = {
        "customerid": {"type": "string", "minLength": 1, "maxLength": CUSTOMER_ID_MAX,
                       "description": "optional; echoed back"},
    }
    for field, allowed in CATEGORICAL.items():
        properties[field] = {"type": "string", "enum": list(allowed),
                             "description": "case and spaces are normalised: 'One year' == 'one_year'"}
    for field in BINARY:
        properties[field] = {"type": "integer", "enum": [0, 1]}
    for field, (low, high, integer) in NUMERIC.items():
        properties[field] = {"type": "integer" if integer else "number", "minimum": low, "maximum": high}
    return {
        "type": "object",
        "description": "Keys are case-insensitive; unknown keys are ignored.",
        "required": [*CATEGORICAL, *BINARY, *NUMERIC],
        "properties": properties,
    }


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _json(description: str, ref: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}


def _post(summary: str, request_ref: str, response_ref: str) -> dict[str, Any]:
    return {"post": {
        "summary": summary,
        "parameters": [{"name": "explain", "in": "query", "required": False, "schema": {"type": "boolean", "default": False},
                        "description": "add each customer's three strongest reasons (DESIGN §8)"}],
        "requestBody": {"required": True, "content": {JSON: {"schema": {"$ref": f"#/components/schemas/{request_ref}"}}}},
        "responses": {
            "200": _json("scored", response_ref),
            "400": _error("malformed JSON"),
            "413": _error("body or batch too large"),
            "415": _error("not JSON"),
            "422": _error("invalid record(s), one detail per bad field"),
        },
    }}


def _get(summary: str, response: dict[str, Any]) -> dict[str, Any]:
    return {"get": {"summary": summary, "responses": {"200": response}}}


def _mark_guarded(paths: dict[str, Any]) -> dict[str, Any]:
    """The routes web/token_guard.py guards (by its own rule) get their 401 and the optional bearer scheme:
    with CHURN_API_TOKEN set they need it; left unset, anyone may call them."""
    for path, item in paths.items():
        if is_guarded(path):
            for operation in item.values():
                operation["responses"]["401"] = _error("CHURN_API_TOKEN is set and the request did not carry it"
                                                       " as a Bearer token")
                operation["security"] = [{"bearer": []}, {}]
    return paths


def drift_schema() -> dict[str, Any]:
    statuses = ["ok", "warn", "alert"]
    value = {"type": "object", "required": ["psi", "status"],
             "properties": {"psi": {"type": "number", "minimum": 0}, "status": {"type": "string", "enum": statuses}}}
    return {"type": "object",
            "required": ["model_version", "window", "since", "thresholds", "status", "features", "prediction",
                         "estimated_auc"],
            "properties": {
                "model_version": {"type": "string"},
                "window": {"type": "integer", "minimum": 0},
                "since": {"type": "string", "nullable": True, "description": "when the oldest record in the window was scored"},
                "thresholds": {"type": "object", "required": ["warn", "alert"],
                               "description": "the PSI from which a value is warn, and alert",
                               "properties": {"warn": {"type": "number"}, "alert": {"type": "number"}}},
                "status": {"type": "string", "enum": [*statuses, "insufficient_data"]},
                "features": {"type": "object", "additionalProperties": value},
                "prediction": {**value, "nullable": True},
                "estimated_auc": {"type": "number", "minimum": 0, "maximum": 1, "nullable": True,
                                  "description": "the AUC expected over the window if the model is calibrated"
                                                 " (confidence-based, before labels); null below DRIFT_MIN_RECORDS"
                                                 " records or when every probability is equal"},
            }}


def shadow_path() -> dict[str, Any]:
    """GET /shadow (web/shadow_feed.py): the challenger's probabilities, paged by seq."""
    record = {"type": "object", "required": ["seq", "prediction_id", "champion", "challenger", "probability"],
              "properties": {"seq": {"type": "integer", "minimum": 1}, "prediction_id": {"type": "string"},
                             "champion": {"type": "string"}, "challenger": {"type": "string"},
                             "probability": {"type": "number", "minimum": 0, "maximum": 1}}}
    body = {"type": "object", "required": ["store", "challenger", "records", "next"], "properties": {
        "store": {"type": "string", "description": "made anew with the store: another id means seqs restarted"},
        "challenger": {"type": "string", "nullable": True, "description": "the version SHADOW names now, if scored"},
        "records": {"type": "array", "items": record},
        "next": {"type": "integer", "minimum": 0, "description": "the largest seq returned, or `after` when none"}}}
    return {"get": {
        "summary": "The SHADOW challenger's probabilities by prediction_id, oldest first (DESIGN §13)",
        "parameters": [
            {"name": "after", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 0, "default": 0},
             "description": "only records with a larger seq"},
            {"name": "limit", "in": "query", "required": False,
             "schema": {"type": "integer", "minimum": 1, "maximum": 50_000, "default": 5000}},
        ],
        "responses": {"200": {"description": "records", "content": {JSON: {"schema": body}}},
                      "422": _error("after or limit is not a whole number in range")},
    }}


def openapi_document(max_batch: int) -> dict[str, Any]:
    prediction = {
        "type": "object",
        "required": ["churn_probability", "churn", "prediction_id"],
        "properties": {
            "customerid": {"type": "string"},
            "churn_probability": {"type": "number", "minimum": 0, "maximum": 1},
            "churn": {"type": "boolean"},
            "prediction_id": {"type": "string", "pattern": "^[0-9a-f]{32}$",
                              "description": "unique per scored record: a random UUID4 as 32 hex digits"},
            "model_version": {"type": "string"},
            "reasons": {"type": "array", "maxItems": 3, "items": {
                "type": "object", "required": ["feature", "value", "contribution"],
                "properties": {"feature": {"type": "string"}, "value": {},
                               "contribution": {"type": "number", "exclusiveMinimum": True, "minimum": 0}}}},
        },
    }
    schemas = {
        "Customer": customer_schema(),
        "Prediction": {**prediction, "required": ["churn_probability", "churn", "prediction_id", "model_version"]},
        "Batch": {"type": "object", "required": ["customers"], "properties": {
            "customers": {"type": "array", "minItems": 1, "maxItems": max_batch,
                          "items": {"$ref": "#/components/schemas/Customer"}}}},
        "BatchPredictions": {"type": "object", "required": ["predictions", "model_version"], "properties": {
            "predictions": {"type": "array", "items": prediction}, "model_version": {"type": "string"}}},
        "Error": ERROR_SCHEMA,
        "Status": {"type": "object", "required": ["status"], "properties": {"status": {"type": "string"}}},
        "Drift": drift_schema(),
    }
    any_json = {"description": "OK", "content": {JSON: {"schema": {"type": "object"}}}}
    return with_server_limits({
        "openapi": "3.0.3",
        "info": {"title": "Churn service", "version": "1",
                 "description": "Scores Telco customers with the trained churn model."},
        "paths": _mark_guarded({
            "/predict": _post("Score one customer", "Customer", "Prediction"),
            "/predict/batch": _post("Score up to MAX_BATCH customers, all or nothing", "Batch", "BatchPredictions"),
            "/healthz": _get("Liveness", _json("alive", "Status")),
            "/readyz": {"get": {"summary": "Readiness: model loaded and verified", "responses": {
                "200": _json("ready", "Status"), "503": _error("not ready")}}},
            "/model": _get("The model's manifest", any_json),
            "/drift": _get("PSI of live traffic against the training data, over all workers", _json("drift", "Drift")),
            "/shadow": shadow_path(),
            "/metrics": _get("Prometheus metrics", {"description": "Prometheus text format",
                                                    "content": {"text/plain": {"schema": {"type": "string"}}}}),
            "/openapi.json": _get("This document", any_json),
        }),
        "components": {"schemas": schemas, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    })
