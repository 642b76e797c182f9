"""The campaign pages: the list with the new-campaign form (and its plan before launch, DESIGN §14), and one
campaign's progress, then its report with pictures, its mail counts and, when the mail guardrail paused it, the
button that resumes it."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from http_common.errors import ApiError
from marketing_service.auth.current import actor
from marketing_service.campaigns import outcomes, plan, report, report_charts, store
from marketing_service.campaigns.api import create_from_request, read_outcomes_text
from marketing_service.campaigns.settings import CampaignSettings
from marketing_service.offers import guardrails
from marketing_service.state import request_db, state
from marketing_service.storage.dialect import probability_bin

campaigns_web = Blueprint("campaigns_web", __name__)
HISTOGRAM_BINS, CHART_W, CHART_H = 20, 600, 160


campaigns_web.add_app_template_filter(report_charts.points, "points")
campaigns_web.add_app_template_filter(report_charts.signed, "minus")


def render_list(values: dict[str, str], errors: dict[str, str], status: int = 200,
                planned: dict[str, Any] | None = None) -> tuple[str, int]:
    return render_template("campaigns.html", campaigns=store.recent(request_db()), values=values, errors=errors,
                           defaults=CampaignSettings(), max_upload_mb=state().config.max_upload_mb, plan=planned), status


@campaigns_web.get("/campaigns")
def campaigns() -> ResponseReturnValue:
    return render_list({}, {})


@campaigns_web.post("/campaigns")
def create() -> ResponseReturnValue:
    values = {k: v for k, v in request.form.items() if k not in ("csrf_token", "action")}
    try:
        if request.form.get("action") == "plan":  # "Check the plan": the form again, with what the list promises
            return render_list(values, {}, planned=plan.from_request(state().client))
        campaign_id = create_from_request()
    except ApiError as exc:
        errors = {d.get("field", "file"): d.get("message", exc.message) for d in exc.details or []}
        return render_list(values, errors or {"file": exc.message}, exc.status)
    state().background.kick()
    return redirect(url_for("campaigns_web.campaign", campaign_id=campaign_id), code=303)


def histogram(campaign_id: int, threshold: float | None) -> dict[str, Any]:
    """Bars of the churn probabilities in 20 bins of 5 points, as SVG coordinates; the threshold as an x."""
    counts = [0] * HISTOGRAM_BINS
    for bin_no, n in request_db().execute(
            f"SELECT {probability_bin(request_db())}, COUNT(*) FROM campaign_rows"
            " WHERE campaign_id = ? AND scored = 1 GROUP BY 1", (HISTOGRAM_BINS, HISTOGRAM_BINS - 1, campaign_id)):
        counts[bin_no] = n
    top, width = max(counts) or 1, CHART_W / HISTOGRAM_BINS
    bars = [{"x": round(i * width, 1), "y": round(CHART_H - n / top * CHART_H, 1), "w": round(width - 2, 1),
             "h": round(n / top * CHART_H, 1), "n": n, "label": f"{i * 5}–{i * 5 + 5}%"} for i, n in enumerate(counts)]
    return {"bars": bars, "width": CHART_W, "height": CHART_H,
            "threshold_x": None if threshold is None else round(threshold * CHART_W, 1), "threshold": threshold}


def served_threshold() -> float | None:
    """The `threshold` in the manifest of the model churn serves (what its `churn` flag uses)."""
    value = (state().client.read("/model") or {}).get("threshold")
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1:
        return float(value)
    return None


@campaigns_web.get("/campaigns/<rowid:campaign_id>")
def campaign(campaign_id: int) -> ResponseReturnValue:
    found = store.summary(request_db(), campaign_id)
    if found is None:
        abort(404, description=f"There is no campaign {campaign_id}.")
    settings = found["settings"]
    # The line drawn on the histogram: the campaign's threshold, else the one churn's model decides with
    # (none while churn cannot say), or none in expected-value mode, where no single probability decides.
    model_threshold = settings.get("mode") == "threshold" and settings.get("threshold") is None
    marked = served_threshold() if model_threshold else settings.get("threshold") if settings.get("mode") == "threshold" else None
    found_report = report.build(request_db(), campaign_id, settings) if found["finished_at"] else None
    return render_template("campaign.html", campaign=found, chart=histogram(campaign_id, marked),
                           model_threshold=model_threshold, report=found_report,
                           uplift=found_report if found_report and found_report["difference"] is not None else None,
                           qini=report_charts.qini_chart(found_report and found_report["qini_curve"]),
                           lift=report_charts.lift_chart(found_report["looks"] if found_report else []),
                           uploads=outcomes.uploads(request_db(), campaign_id), guardrail=guardrails.describe())


@campaigns_web.post("/campaigns/<rowid:campaign_id>/outcomes")
def record_outcomes(campaign_id: int) -> ResponseReturnValue:
    found = store.summary(request_db(), campaign_id)
    if found is None:
        abort(404, description=f"There is no campaign {campaign_id}.")
    if found["finished_at"] is None:  # done, or paused by the mail guardrail after it was
        abort(409, description="Outcomes can be recorded once the campaign is done.")
    try:
        outcomes.take_outcomes(request_db(), campaign_id, read_outcomes_text(), actor())
    except (outcomes.OutcomeError, ApiError) as exc:
        abort(422, description=str(exc))
    return redirect(url_for("campaigns_web.campaign", campaign_id=campaign_id) + "#uplift", code=303)


@campaigns_web.post("/campaigns/<rowid:campaign_id>/resume")
def resume(campaign_id: int) -> ResponseReturnValue:
    if store.summary(request_db(), campaign_id) is None:
        abort(404, description=f"There is no campaign {campaign_id}.")
    if not guardrails.resume(request_db(), campaign_id, actor()):
        abort(409, description="Only a paused campaign can be resumed.")
    state().background.kick()
    return redirect(url_for("campaigns_web.campaign", campaign_id=campaign_id), code=303)
