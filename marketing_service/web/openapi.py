"""The OpenAPI 3 document of the marketing JSON API, generated from the same schema the validator uses."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from feature_contract import CUSTOMER_ID_MAX
from feature_contract import schema as feature_schema
from http_common.openapi import ERROR_SCHEMA, with_server_limits
from marketing_service.campaigns.openapi import campaign_paths
from marketing_service.customers.outcome_input import MAX_JSON_OUTCOMES
from marketing_service.customers.records import EMAIL_MAX, NAME_MAX
from marketing_service.mail.openapi import event_schemas, mail_event_paths

JSON = "application/json"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def customer_schema() -> dict[str, Any]:
    properties: dict[str, Any] = {
        "customerid": {"type": "string", "minLength": 1, "maxLength": CUSTOMER_ID_MAX},
        "email": {"type": "string", "format": "email", "maxLength": EMAIL_MAX},
        "name": {"type": "string", "maxLength": NAME_MAX},
    }
    for field, spec in feature_schema().items():
        if spec["type"] == "category":
            properties[field] = {"type": "string", "enum": spec["allowed"]}
        elif spec["type"] == "binary":
            properties[field] = {"type": "integer", "enum": spec["allowed"]}
        else:
            properties[field] = {"type": spec["type"], "minimum": spec["minimum"], "maximum": spec["maximum"]}
    return {"type": "object", "required": ["customerid", "email", *feature_schema()], "properties": properties,
            "description": "One flat customer: contact fields beside the features. Keys are case-insensitive."}


def outcome_paths(error: dict[str, Any], max_outcomes: int) -> dict[str, Any]:
    """DESIGN §13: outcomes in, realized quality out."""
    outcome = {"type": "object", "required": ["customerid", "churned"], "properties": {
        "customerid": {"type": "string", "minLength": 1, "maxLength": CUSTOMER_ID_MAX},
        "churned": {"oneOf": [{"type": "boolean"}, {"type": "string", "enum": ["yes", "no", "1", "0", "true", "false"]},
                              {"type": "integer", "enum": [0, 1]}]},
        "observed_at": {"type": "string", "format": "date-time", "description": "ISO 8601 with Z or an offset;"
                        " absent: now. The outcome joins the customer's latest decision before it."}}}
    listed = {"type": "object", "required": ["outcomes"], "properties": {
        "outcomes": {"type": "array", "minItems": 1, "maxItems": max_outcomes, "items": outcome}}}
    file = {"type": "object", "required": ["file"], "properties": {"file": {"type": "string", "format": "binary"}}}
    answer = {"type": "object", "required": ["recorded", "unmatched", "rejected"], "properties": {
        "recorded": {"type": "integer", "minimum": 0}, "unmatched": {"type": "integer", "minimum": 0,
                                                                     "description": "no decision before observed_at"},
        "rejected": {"type": "array", "description": "the first 100 bad lines (CSV) or items (JSON), by field",
                     "items": {"type": "object"}}}}
    number = {"type": "number", "nullable": True}
    quality = {"type": "object", "required": ["n", "auc", "brier", "ece", "calibration"], "properties": {
        "n": {"type": "integer", "minimum": 0}, "auc": number, "brier": number, "ece": number,
        "calibration": {"type": "array", "items": {"type": "object", "required": [
            "lo", "hi", "n", "mean_predicted", "observed_rate"]}}}}
    shadow = {"type": "object", "required": ["champion", "challenger", "n", "champion_auc", "challenger_auc",
                                             "difference", "ci95"], "properties": {
        "champion": {"type": "string"}, "challenger": {"type": "string"}, "n": {"type": "integer", "minimum": 0},
        "champion_auc": {"type": "number"}, "challenger_auc": {"type": "number"},
        "difference": {"type": "number", "description": "challenger − champion, on the same rows"},
        "ci95": {"type": "array", "minItems": 2, "maxItems": 2, "items": {"type": "number"},
                 "description": "95 % CI of the difference, DeLong's paired method"}}}
    return {
        "/api/outcomes": {"post": {
            "summary": "What happened to scored customers (customerid, churned, observed_at?): CSV or JSON",
            "requestBody": {"required": True, "content": {
                JSON: {"schema": listed}, "multipart/form-data": {"schema": file}, "text/csv": {"schema": {"type": "string"}}}},
            "responses": {"200": _json("recorded, unmatched and rejected outcomes", answer),
                          "400": error, "413": error, "415": error, "422": error, "503": error}}},
        "/api/model-quality": {"get": {
            "summary": "Realized quality per model version: untreated labelled customers, weighted 1 / (1 − propensity)",
            "responses": {"200": _json("per version, and the shadow comparison once there is one", {
                "type": "object", "required": ["versions"], "properties": {
                    "versions": {"type": "object", "additionalProperties": quality}, "shadow": shadow}})}}},
        "/api/outcomes/training.csv": {"get": {
            "summary": "Labelled customers who got no offer, as the Telco CSV `python -m train --data` reads (role"
                       " marketer): the record scored for the labelled decision, Churn Yes/No and observed_at",
            "responses": {"200": {"description": "customerID, the Telco feature columns, Churn, observed_at; streamed",
                                  "content": {"text/csv": {"schema": {"type": "string"}}}}}}},
    }


def openapi_document(max_customers: int, max_campaign_customers: int) -> dict[str, Any]:
    offer_ref = {"type": "object", "nullable": True, "required": ["id", "status"], "properties": {
        "id": {"type": "integer"}, "status": {"type": "string", "enum": ["queued", "sent", "failed"]}}}
    result = {"type": "object", "required": ["customerid", "status", "offer"], "properties": {
        "customerid": {"type": "string"}, "status": {"type": "string", "enum": ["scored", "pending", "rejected"]},
        "reason": {"type": "string", "description": "why churn refused the record (status rejected)"},
        "churn_probability": {"type": "number", "minimum": 0, "maximum": 1}, "churn": {"type": "boolean"},
        "model_version": {"type": "string", "description": "the churn model that decided (status scored)"},
        "offer": offer_ref}}
    results = {"type": "object", "required": ["customers"],
               "properties": {"customers": {"type": "array", "items": result}}}
    error = _json("error", _ref("Error"))
    limit = [{"name": "limit", "in": "query", "required": False,
              "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}}]
    listing = {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "object"}}}
    schemas = {
        "Customer": customer_schema(),
        "Submission": {"oneOf": [_ref("Customer"), {"type": "object", "required": ["customers"], "properties": {
            "customers": {"type": "array", "minItems": 1, "maxItems": max_customers, "items": _ref("Customer")}}}]},
        "Error": ERROR_SCHEMA,
        **event_schemas(),
    }
    return with_server_limits({
        "openapi": "3.0.3",
        "info": {"title": "Marketing service", "version": "1",
                 "description": "Submit customers for churn scoring; likely churners get one retention offer."},
        "paths": {
            "/api/customers": {
                "post": {"summary": "Submit one customer or a list", "requestBody": {
                    "required": True, "content": {JSON: {"schema": _ref("Submission")}}},
                    "responses": {"200": _json("all decided (scored, or rejected by churn)", results),
                                  "202": _json("some pending", results),
                                  "400": error, "413": error, "415": error, "422": error, "503": error}},
                "get": {"summary": "Recent customers, newest first", "parameters": limit,
                        "responses": {"200": _json("customers", listing), "422": error}},
            },
            "/api/offers": {"get": {"summary": "The offer outbox, newest first", "parameters": limit,
                                    "responses": {"200": _json("offers", listing), "422": error}}},
            "/healthz": {"get": {"summary": "Liveness", "responses": {"200": _json("alive", {"type": "object"})}}},
            "/readyz": {"get": {"summary": "Readiness; reports whether churn is reachable", "responses": {
                "200": _json("ready", {"type": "object"}), "503": error}}},
            "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": {
                "description": "Prometheus text format", "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
            **campaign_paths(max_campaign_customers, _ref("Customer"), error),
            **mail_event_paths(error),
            **outcome_paths(error, MAX_JSON_OUTCOMES),
        },
        "components": {"schemas": schemas},
    })


def with_security(document: dict[str, Any], is_open: Callable[[str, str], bool]) -> dict[str, Any]:
    """DESIGN §11 in the document: a bearer token on every operation but the open ones, which say
    `security: []`, and those that name their own (the mail events webhook also takes HTTP Basic); the others
    list the 401 and 403 the door can answer."""
    error = _json("error", _ref("Error"))
    document["components"]["securitySchemes"] = {"bearer": {
        "type": "http", "scheme": "bearer",
        "description": "a token from `python -m marketing_service tokens create NAME --role ROLE` or the admin page"},
        "basic": {"type": "http", "scheme": "basic",
                  "description": "any user name, the token as password: only where an operation lists it"}}
    document["security"] = [{"bearer": []}]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if is_open(path, method):
                operation["security"] = []
            else:
                operation["responses"].setdefault("401", error)
                operation["responses"].setdefault("403", error)
    return document
