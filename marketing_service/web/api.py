"""The JSON API: submit customers, list customers and offers, the OpenAPI document (DESIGN §5)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from http_common.errors import ApiError, read_json
from marketing_service.campaigns.api import MAX_JSON_CUSTOMERS
from marketing_service.customers.intake import submit
from marketing_service.customers.listing import recent_customers
from marketing_service.customers.records import Customer, InvalidCustomer, parse_customer
from marketing_service.offers.listing import recent_offers
from marketing_service.state import request_db, state
from marketing_service.web.access import is_open
from marketing_service.web.openapi import openapi_document, with_security

api = Blueprint("api", __name__)
MAX_CUSTOMERS = 1000


def parse_submission(body: Any) -> list[Customer]:
    """One flat customer or {"customers": [...]}; any bad record refuses the whole request."""
    if isinstance(body, dict) and "customers" in body:
        raw = body["customers"]
        if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_CUSTOMERS:
            raise ApiError(422, "invalid_request", f"customers must be an array of 1 to {MAX_CUSTOMERS} objects",
                           [{"field": "customers", "message": f"must be an array of 1 to {MAX_CUSTOMERS} objects"}])
        indexed = True
    else:
        raw, indexed = [body], False
    customers: list[Customer] = []
    details: list[dict[str, Any]] = []
    for index, item in enumerate(raw):
        try:
            customers.append(parse_customer(item))
        except InvalidCustomer as exc:
            for field, message in exc.errors.items():
                details.append({"field": field, "message": message, **({"index": index} if indexed else {})})
    if details:
        raise ApiError(422, "invalid_record", "invalid customer record(s); nothing was stored", details)
    return customers


@api.post("/api/customers")
def create_customers() -> ResponseReturnValue:
    customers = parse_submission(read_json(request))
    results = submit(request_db(), state().client, state().rules, customers)
    if any(r["offer"] for r in results):
        state().background.kick()
    pending = any(r["status"] == "pending" for r in results)
    return jsonify({"customers": results}), 202 if pending else 200


def limit_arg() -> int:
    raw = request.args.get("limit", "100")
    # isdigit() alone accepts "²" and other digits int() refuses; only ASCII digits are a limit.
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= 1000:
        raise ApiError(422, "invalid_limit", "limit must be a whole number from 1 to 1000",
                       [{"field": "limit", "message": "must be a whole number from 1 to 1000"}])
    return int(raw)


@api.get("/api/customers")
def list_customers() -> ResponseReturnValue:
    return jsonify({"customers": recent_customers(request_db(), limit_arg())})


@api.get("/api/offers")
def list_offers() -> ResponseReturnValue:
    return jsonify({"offers": recent_offers(request_db(), limit_arg())})


@api.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    return jsonify(with_security(openapi_document(MAX_CUSTOMERS, MAX_JSON_CUSTOMERS), is_open))
