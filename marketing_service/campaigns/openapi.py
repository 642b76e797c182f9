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
