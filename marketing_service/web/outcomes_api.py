"""DESIGN §13 over HTTP: POST /api/outcomes records what happened to scored customers (CSV, as the body or the
multipart `file`, or JSON), GET /api/model-quality reports each model version's realized quality, and
GET /api/outcomes/training.csv exports the labelled untreated customers for `python -m train --data`."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, request
from flask.typing import ResponseReturnValue

from http_common.errors import ApiError, json_response, read_json
from marketing_service.auth.current import actor
from marketing_service.auth.roles import requires
from marketing_service.customers.outcome_input import OutcomeInputError, Parsed, as_text, parse_csv, parse_json_body
from marketing_service.customers.outcomes import realized_by_version, record_outcomes
from marketing_service.customers.training_export import training_csv
from marketing_service.shadow.compare import shadow_block
from marketing_service.state import request_db, state

outcomes_api = Blueprint("outcomes_api", __name__)


def parse_request() -> Parsed:
    """The outcomes of the request, or a 4xx ApiError naming what is wrong (then nothing is stored). A CSV is read
    as it is parsed: werkzeug has spooled a large upload to disk."""
    try:
        if request.mimetype == "multipart/form-data":
            upload = request.files.get("file")
            if upload is None:
                raise ApiError(422, "invalid_outcomes", "attach the outcomes as the file field `file` (CSV)",
                               [{"field": "file", "message": "is required"}])
            return parse_csv(as_text(upload.stream))
        if request.is_json:
            return parse_json_body(read_json(request))
        return parse_csv(as_text(request.stream))
    except OutcomeInputError as exc:
        field = "outcomes" if request.is_json else "file"
        raise ApiError(422, "invalid_outcomes", f"{exc}; nothing was stored",
                       [{"field": field, "message": str(exc)}]) from None


@outcomes_api.post("/api/outcomes")
def record() -> ResponseReturnValue:
    parsed = parse_request()
    recorded, unmatched = record_outcomes(request_db(), parsed.outcomes, actor())
    return json_response({"recorded": recorded, "unmatched": unmatched, "rejected": parsed.rejected})


def quality_json(conn: Any) -> dict[str, Any]:
    """§13's body: each version's realized quality, and the `shadow` block once champion and challenger can be
    compared on the same labelled rows."""
    body: dict[str, Any] = {"versions": {version: dict(q) for version, q in realized_by_version(conn).items()}}
    shadow = shadow_block(conn)
    if shadow is not None:
        body["shadow"] = shadow
    return body


@outcomes_api.get("/api/model-quality")
def model_quality() -> ResponseReturnValue:
    return json_response(quality_json(request_db()))


@outcomes_api.get("/api/outcomes/training.csv")
@requires("marketer")  # customers' records and what happened to them: more than a viewer reads
def training_export() -> ResponseReturnValue:
    storage = state().storage

    def generate() -> Iterator[str]:  # its own connection: the request's is closed before the stream ends
        conn = storage.connect()
        try:
            yield from training_csv(conn)
        finally:
            conn.close()

    return Response(generate(), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="training.csv"'})
