"""The campaigns API (DESIGN §8) in marketing's OpenAPI document, so clients and the fuzzer see it too."""
from __future__ import annotations

import re
from typing import Any

from marketing_service.campaigns.settings import LIMITS, MODES, NAME_MAX
from marketing_service.storage.mail_schema import CAMPAIGN_STATUSES

JSON, CSV = "application/json", "text/csv"
STATUSES = re.findall(r"'(\w+)'", CAMPAIGN_STATUSES)  # the database's own list (its CHECK), paused included


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def settings_properties() -> dict[str, Any]:
    """The targeting settings, as fields of a form or keys of a JSON body; blank or absent takes the default."""
    properties: dict[str, Any] = {"name": {"type": "string", "minLength": 1, "maxLength": NAME_MAX},
                                  "mode": {"type": "string", "enum": list(MODES)}}
    for field, (low, high, whole) in LIMITS.items():
        properties[field] = {"type": "integer" if whole else "number", "minimum": low, "maximum": high}
    return properties


def mail_properties() -> dict[str, Any]:
    """DESIGN §12: what the campaign's mail did, once per offer, and why the guardrail paused it."""
    counts = {key: {"type": "integer", "minimum": 0, "description": what} for key, what in (
        ("sent", "offers the mail server took (250) or refused at RCPT"), ("delivered", "delivered, by provider events"),
        ("bounced", "hard bounces: a 550/551/553 at RCPT or a bounce event"), ("complained", "spam complaints"))}
    rates = {key: {"type": "number", "minimum": 0, "maximum": 1, "nullable": True, "description": f"{what} / sent; null"
                   " before anything is sent"} for key, what in (("bounce_rate", "bounced"), ("complaint_rate", "complained"))}
    return {**counts, **rates,
            "paused_reason": {"type": "string", "nullable": True, "description": "why the guardrail paused it"},
            "resumed_at": {"type": "string", "nullable": True,
                           "description": "when a marketer last resumed it; the guardrail counts sends after it"}}


def _nullable(kind: str, description: str = "", **more: Any) -> dict[str, Any]:
    return {"type": kind, "nullable": True, **({"description": description} if description else {}), **more}


def _interval(description: str) -> dict[str, Any]:
    return _nullable("array", description, items={"type": "number"}, minItems=2, maxItems=2)


def report_schema() -> dict[str, Any]:
    """GET /api/campaigns/<id>/report (DESIGN §14): a difference is mean(retained | offered) − mean(retained |
    holdout), a share; every statistic is null until both arms have outcomes."""
    group = {"type": "object", "required": ["customers", "churned", "churn_rate"], "properties": {
        "customers": {"type": "integer"}, "churned": {"type": "integer"}, "churn_rate": _nullable("number")}}
    at_k = {"type": "object", "properties": {k: _nullable("number") for k in ("10", "20", "30")}}
    look = {"type": "object", "required": ["recorded_at", "offered", "holdout", "difference", "wald95", "sequence95"],
            "properties": {"recorded_at": _nullable("string"), "offered": {"type": "integer"},
                           "holdout": {"type": "integer"}, "difference": _nullable("number"),
                           "wald95": _interval("fixed-horizon"), "sequence95": _interval("anytime-valid")}}
    keys = ["campaign_id", "mode", "score", "assigned", "offered", "holdout", "difference", "ci95", "customers_kept",
            "wald95", "sequence95", "cuped", "srm", "uplift_metrics", "qini_curve", "looks"]
    return {"type": "object", "required": keys, "properties": {
        "campaign_id": {"type": "integer"}, "mode": {"type": "string"},
        "score": {"type": "string", "description": "the targeting score the uplift metrics rank by"},
        "assigned": {"type": "object", "description": "targeted customers offered and held out, outcomes or not",
                     "properties": {"offered": {"type": "integer"}, "holdout": {"type": "integer"}}},
        "offered": group, "holdout": group,
        "difference": _nullable("number", "holdout churn rate − offered churn rate (= retained difference)"),
        "ci95": _interval("the Wald interval, as before §14"), "customers_kept": _nullable("number"),
        "wald95": _interval("fixed-horizon 95 % Wald interval (unpooled)"),
        "sequence95": _interval("anytime-valid 95 % confidence sequence"),
        "cuped": {"type": "object", "required": ["theta", "difference", "ci95"], "properties": {
            "theta": _nullable("number"), "difference": _nullable("number"), "ci95": _interval("its Wald interval")}},
        "srm": {"type": "object", "required": ["p_value", "flagged"], "properties": {
            "p_value": {"type": "number"}, "flagged": {"type": "boolean", "description": "p < 0.001"},
            "holdout_share": {"type": "number"}, "observed_holdout_share": _nullable("number")}},
        "uplift_metrics": {"type": "object", "required": ["qini_auc", "uplift_auc", "uplift_at_k"], "properties": {
            "qini_auc": _nullable("number"), "uplift_auc": _nullable("number"), "uplift_at_k": {
                "type": "object", "properties": {"overall": at_k, "by_group": at_k}}}},
        "qini_curve": _nullable("object", "101 points: share of customers, model and random Qini values",
                                properties={k: {"type": "array", "items": {"type": "number"}}
                                            for k in ("share", "model", "random")}),
        "looks": {"type": "array", "items": look, "description": "the lift after each outcomes upload, cumulative"}}}


def plan_schema() -> dict[str, Any]:
    counts = {k: _nullable("integer") for k in ("targeted", "offered", "holdout")}
    return {"type": "object", "required": ["rows", "sampled", "targeted", "offered", "holdout", "churn_rate", "mde",
                                           "warning"], "properties": {
        "rows": {"type": "integer", "description": "accepted rows of the list"},
        "sampled": {"type": "integer", "description": "rows scored (the first 5,000)"}, **counts,
        "churn_rate": _nullable("number", "mean churn probability of the targeted"),
        "mde": _nullable("number", "minimum detectable effect, a share (two-sided α 0.05, power 0.8)"),
        "warning": _nullable("string")}}


def campaign_paths(max_json_customers: int, customer_ref: dict[str, str], error: dict[str, Any]) -> dict[str, Any]:
    campaign = {"type": "object", "required": ["id", "name", "status", "progress", "settings"], "properties": {
        "id": {"type": "integer"}, "name": {"type": "string"}, "status": {"type": "string", "enum": list(STATUSES)},
        "progress": {"type": "number", "minimum": 0, "maximum": 1}, "settings": {"type": "object"},
        **mail_properties(),
        "created_by": {"type": "string", "description": "the user (or `token:NAME`) who started it"},
        "outcome_uploads": {"type": "array", "description": "each outcomes upload: who sent it and what matched",
                            "items": {"type": "object", "required": ["matched", "unmatched", "rejected", "created_by"]}}}}
    campaign_id = [{"name": "campaign_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
    csv_file = {"description": "CSV, streamed", "content": {CSV: {"schema": {"type": "string"}}}}
    upload = {"type": "object", "required": ["file", "name"],
              "properties": {"file": {"type": "string", "format": "binary"}, **settings_properties()}}
    listed = {"type": "object", "required": ["customers", "name"], "properties": {
        **settings_properties(),
        "customers": {"type": "array", "minItems": 1, "maxItems": max_json_customers, "items": customer_ref}}}
    outcomes_file = {"type": "object", "required": ["file"], "properties": {"file": {"type": "string", "format": "binary"}}}
    return {
        "/api/campaigns": {
            "post": {"summary": "Start a campaign over a customer list (CSV upload, or JSON)", "requestBody": {
                "required": True, "content": {"multipart/form-data": {"schema": upload}, JSON: {"schema": listed}}},
                "responses": {"202": _json("queued; Location is its status", {
                    "type": "object", "required": ["id", "status"],
                    "properties": {"id": {"type": "integer"}, "status": {"type": "string"}}}),
                    "400": error, "413": error, "415": error, "422": error, "503": error}},
            "get": {"summary": "Recent campaigns, newest first", "responses": {"200": _json("campaigns", {
                "type": "object", "required": ["campaigns"],
                "properties": {"campaigns": {"type": "array", "items": campaign}}})}},
        },
        "/api/campaigns/{campaign_id}": {"get": {
            "summary": "A campaign's progress, counts and, once outcomes are recorded, its uplift",
            "parameters": campaign_id, "responses": {"200": _json("the campaign", campaign), "404": error}}},
        "/api/campaigns/plan": {"post": {
            "summary": "Before launch: the expected split of a customer list and its minimum detectable effect",
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                **upload, "required": ["file"]}}}},
            "responses": {"200": _json("the plan", plan_schema()), "400": error, "413": error, "415": error,
                          "422": error, "503": error}}},
        "/api/campaigns/{campaign_id}/report": {"get": {
            "summary": "The experiment report: lift with Wald and anytime-valid intervals, CUPED, SRM, uplift metrics",
            "parameters": campaign_id, "responses": {"200": _json("the report", report_schema()), "404": error}}},
        "/api/campaigns/{campaign_id}/resume": {"post": {
            "summary": "Send again after the mail guardrail paused the campaign (a marketer's call)",
            "parameters": campaign_id, "responses": {"200": _json("the campaign, sending again", campaign),
                                                     "404": error, "409": error}}},
        "/api/campaigns/{campaign_id}/results.csv": {"get": {
            "summary": "Every accepted row with its score and decision", "parameters": campaign_id,
            "responses": {"200": csv_file, "404": error}}},
        "/api/campaigns/{campaign_id}/rejects.csv": {"get": {
            "summary": "Every refused row: its line, field and reason", "parameters": campaign_id,
            "responses": {"200": csv_file, "404": error}}},
        "/api/campaigns/{campaign_id}/outcomes": {"post": {
            "summary": "Who churned after the campaign (customerid,churned): the uplift report",
            "parameters": campaign_id, "requestBody": {"required": True, "content": {
                "multipart/form-data": {"schema": outcomes_file}, CSV: {"schema": {"type": "string"}}}},
            "responses": {"200": _json("matched rows and the uplift", {
                "type": "object", "required": ["matched", "unmatched", "rejected", "rejected_lines"], "properties": {
                    "matched": {"type": "integer"}, "unmatched": {"type": "integer"},
                    "rejected": {"type": "array", "description": "the first 100 rejected lines", "items": {"type": "object"}},
                    "rejected_lines": {"type": "integer", "description": "all rejected lines"}}}),
                "404": error, "409": error, "413": error, "422": error, "503": error}}},
    }
