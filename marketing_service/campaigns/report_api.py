"""The experiment's API (DESIGN §14): a campaign's report after launch (a viewer may read it), and the plan of a
customer list before launch (a marketer's, since it has churn score a sample of the list)."""
from __future__ import annotations

from flask import Blueprint, request
from flask.typing import ResponseReturnValue

from http_common.errors import ApiError, json_response
from marketing_service.campaigns import plan, report, store
from marketing_service.state import request_db, state

campaign_report = Blueprint("campaign_report", __name__)


def allow_plan_upload() -> None:
    """A before_request hook, ahead of the door's CSRF check (which reads the form): a plan reads the same list
    a campaign does, so it takes up to MAX_UPLOAD_MB too."""
    if request.endpoint == "campaign_report.plan_of_list":
        request.max_content_length = int(state().config.max_upload_mb * 1024 * 1024)


@campaign_report.get("/api/campaigns/<rowid:campaign_id>/report")
def campaign(campaign_id: int) -> ResponseReturnValue:
    found = store.summary(request_db(), campaign_id)
    if found is None:
        raise ApiError(404, "not_found", f"there is no campaign {campaign_id}")
    return json_response(report.build(request_db(), campaign_id, found["settings"]))


@campaign_report.post("/api/campaigns/plan")
def plan_of_list() -> ResponseReturnValue:
    return json_response(plan.from_request(state().client))
