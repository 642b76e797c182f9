"""GET /shadow (DESIGN §13): the challenger's probabilities, paged by `seq`, for whoever compares the two models.

A reader keeps the `store` id and the `next` seq of its last page and asks `?after=<next>`; another store id
means the service's store was made anew (a restart), and its seqs start again from 1.
"""
from __future__ import annotations

from contextlib import closing

from flask import Blueprint, current_app, request

from churn_service.state import ChurnState
from http_common.errors import ApiError, json_response

shadow_feed = Blueprint("churn_shadow", __name__)
DEFAULT_LIMIT, MAX_LIMIT = 5000, 50_000


def _whole_number(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw) if raw.isascii() and raw.isdigit() else None
    except ValueError:  # more digits than int() reads
        value = None
    if value is None or not low <= value <= high:
        raise ApiError(422, "invalid_parameter", f"{name} must be a whole number from {low} to {high}",
                       [{"field": name, "message": f"must be a whole number from {low} to {high}, got {raw[:40]!r}"}])
    return value


@shadow_feed.get("/shadow")
def shadow_records():
    state: ChurnState = current_app.extensions["churn"]
    after = _whole_number("after", 0, 0, 2**63 - 1)
    limit = _whole_number("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    challenger = state.shadow.scoring_beside(state.serving.version)
    store = state.shadow.store
    with closing(store.connect()) as conn:
        records = store.read(conn, after, limit)
    return json_response({"store": store.store_id, "challenger": None if challenger is None else challenger.version,
                          "records": records, "next": records[-1]["seq"] if records else after})
