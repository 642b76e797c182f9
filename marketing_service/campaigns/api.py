"""The campaigns API of DESIGN §8: create (multipart CSV or JSON), status, CSV downloads, outcomes; and the
resume of a campaign the mail guardrail paused (DESIGN §12)."""
from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any, TextIO

from flask import Blueprint, Response, request, url_for
from flask.typing import ResponseReturnValue

from http_common.errors import ApiError, json_response, read_json
from marketing_service.auth.current import actor
from marketing_service.campaigns import exports, outcomes, store, uplift_model
from marketing_service.campaigns.settings import InvalidSettings, parse_settings
from marketing_service.campaigns.upload import UploadError, csv_rows, json_rows
from marketing_service.offers import guardrails
from marketing_service.state import request_db, state

campaigns_api = Blueprint("campaigns_api", __name__)
MAX_JSON_CUSTOMERS = 100_000


def _settings_error(exc: InvalidSettings) -> ApiError:
    return ApiError(422, "invalid_settings", "the campaign settings are invalid",
                    [{"field": f, "message": m} for f, m in exc.errors.items()])


def _check_uplift_history() -> None:
    """DESIGN §14: refuse mode uplift at once when past campaigns hold too few labelled customers in an arm (the
    model is fitted when the campaign is decided; this only counts the arms)."""
    try:
        uplift_model.check_arms(*uplift_model.arm_counts(request_db()))
    except uplift_model.NotEnoughHistory as exc:
        raise ApiError(422, "invalid_settings", str(exc), [{"field": "mode", "message": str(exc)}]) from None


# A campaign's outcomes cover as many customers as its upload did, so they get the same limit.
UPLOAD_ENDPOINTS = ("campaigns_api.create", "campaigns_web.create", "campaigns_api.record_outcomes",
                    "campaigns_web.record_outcomes", "outcomes_api.record")


def allow_uploads() -> None:
    """A before_request hook, registered ahead of CSRF protection (which reads the form): the upload routes
    (customer lists and outcome files) take up to MAX_UPLOAD_MB, everything else keeps the app's MAX_BODY_MB."""
    if request.endpoint in UPLOAD_ENDPOINTS:
        request.max_content_length = int(state().config.max_upload_mb * 1024 * 1024)


def create_from_request() -> int:
    """A multipart upload (`file` + fields) or a JSON body; ApiError for anything unusable."""
    if request.mimetype == "multipart/form-data":
        fields: dict[str, Any] = request.form.to_dict()
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise ApiError(422, "invalid_upload", "attach the customer list as the file field `file` (CSV)",
                           [{"field": "file", "message": "is required"}])
        try:
            name, settings = parse_settings(fields)
        except InvalidSettings as exc:
            raise _settings_error(exc) from None
        rows = csv_rows(upload.stream)
    else:
        body = read_json(request)
        customers = body.get("customers") if isinstance(body, dict) else None
        if not isinstance(customers, list) or not customers or len(customers) > MAX_JSON_CUSTOMERS:
            raise ApiError(422, "invalid_upload", f"send \"customers\": a list of 1 to {MAX_JSON_CUSTOMERS} customers",
                           [{"field": "customers", "message": "must be a non-empty list"}])
        try:
            name, settings = parse_settings(body)
        except InvalidSettings as exc:
            raise _settings_error(exc) from None
        rows = json_rows(customers)
    if settings.mode == "uplift":
        _check_uplift_history()
    try:
        return store.create(request_db(), name, settings, rows, actor())
    except UploadError as exc:
        raise ApiError(422, "invalid_upload", str(exc), [{"field": "file", "message": str(exc)}]) from None


def _campaign_or_404(campaign_id: int) -> dict[str, Any]:
    found = store.summary(request_db(), campaign_id)
    if found is None:
        raise ApiError(404, "not_found", f"there is no campaign {campaign_id}")
    return found


@campaigns_api.post("/api/campaigns")
def create() -> ResponseReturnValue:
    campaign_id = create_from_request()
    state().background.kick()
    response = json_response({"id": campaign_id, "status": "queued"}, 202)
    response.headers["Location"] = url_for("campaigns_api.status", campaign_id=campaign_id)
    return response


@campaigns_api.get("/api/campaigns")
def listing() -> ResponseReturnValue:
    return json_response({"campaigns": store.recent(request_db())})


@campaigns_api.get("/api/campaigns/<rowid:campaign_id>")
def status(campaign_id: int) -> ResponseReturnValue:
    found = _campaign_or_404(campaign_id)  # outcomes are taken once it is finished: no uplift to look for before
    return json_response({**found, "uplift": outcomes.report(request_db(), campaign_id) if found["finished_at"] else None,
                          "outcome_uploads": outcomes.uploads(request_db(), campaign_id)})


def _stream_csv(campaign_id: int, filename: str, make: Any) -> Response:
    _campaign_or_404(campaign_id)
    storage = state().storage

    def generate() -> Iterator[str]:  # its own connection: the request's is closed before the stream ends
        conn = storage.connect()
        try:
            yield from make(conn, campaign_id)
        finally:
            conn.close()

    return Response(generate(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="campaign-{campaign_id}-{filename}"'})


@campaigns_api.get("/api/campaigns/<rowid:campaign_id>/results.csv")
def results(campaign_id: int) -> ResponseReturnValue:
    return _stream_csv(campaign_id, "results.csv", exports.results_csv)


@campaigns_api.get("/api/campaigns/<rowid:campaign_id>/rejects.csv")
def rejects(campaign_id: int) -> ResponseReturnValue:
    return _stream_csv(campaign_id, "rejects.csv", exports.rejects_csv)


def read_outcomes_text() -> TextIO:
    """The outcomes file (the multipart `file`, else the body) as text read as it is parsed: werkzeug has spooled
    a large one to disk, and it is never held whole in memory. Bad UTF-8 surfaces as parse_outcomes' OutcomeError."""
    upload = request.files.get("file")
    stream = upload.stream if upload is not None else request.stream
    return io.TextIOWrapper(stream, encoding="utf-8", newline="")


@campaigns_api.post("/api/campaigns/<rowid:campaign_id>/outcomes")
def record_outcomes(campaign_id: int) -> ResponseReturnValue:
    found = _campaign_or_404(campaign_id)
    if found["finished_at"] is None:  # done, or paused by the mail guardrail after it was
        raise ApiError(409, "not_done", "outcomes can be recorded once the campaign is done")
    try:
        taken = outcomes.take_outcomes(request_db(), campaign_id, read_outcomes_text(), actor())
    except outcomes.OutcomeError as exc:
        raise ApiError(422, "invalid_outcomes", str(exc)) from None
    return json_response({**taken, "uplift": outcomes.report(request_db(), campaign_id)})


@campaigns_api.post("/api/campaigns/<rowid:campaign_id>/resume")
def resume(campaign_id: int) -> ResponseReturnValue:
    """Send again after the guardrail paused the campaign; the guardrail then counts from now."""
    _campaign_or_404(campaign_id)
    if not guardrails.resume(request_db(), campaign_id, actor()):
        raise ApiError(409, "not_paused", f"campaign {campaign_id} is not paused; only a paused campaign can be resumed")
    state().background.kick()
    return json_response(_campaign_or_404(campaign_id))
