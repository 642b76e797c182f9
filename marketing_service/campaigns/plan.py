"""Before launch (DESIGN §14): what a customer list and its settings promise as an experiment. The list is read
with the campaign upload's own parser, its first SAMPLE accepted rows are scored by churn and put through the
campaign's targeting rule, and the shares found are scaled to the whole list: how many customers would be
targeted, offered and held out, their expected churn rate, and the minimum detectable effect of the split
(two-sided α = 0.05, power 0.8), with a warning past MDE_WARNING.

In `uplift` mode who is targeted depends on the uplift model's scores, known only once the list is scored, so
the plan says so instead of guessing.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from flask import request

from http_common.errors import ApiError
from marketing_service.campaigns import stats
from marketing_service.campaigns.settings import CampaignSettings, InvalidSettings, parse_settings
from marketing_service.campaigns.targeting import ScoredRow, decide, is_target
from marketing_service.campaigns.upload import Refusal, UploadError, csv_rows
from marketing_service.churn_client import ChurnClient, ChurnRejected, ChurnUnavailable, Score
from marketing_service.customers.records import Customer

SAMPLE = 5000  # rows scored; the rest of the list is only counted
MDE_WARNING = 0.05  # DESIGN §14: warn when only a lift above 5 points would be found


def plan(client: ChurnClient, rows: Iterable[tuple[int, Customer | Refusal]], settings: CampaignSettings) -> dict[str, Any]:
    """{"rows", "sampled", "targeted", "offered", "holdout", "churn_rate", "mde", "warning"}: counts expected for
    the whole list; churn_rate the mean churn probability of the targeted the budget keeps (highest expected value
    first, as the campaign chooses them: the base rate of the arms the MDE is about); mde a share (0.041 = 4.1 points),
    null when an arm would be empty or nothing is targeted."""
    seen: set[str] = set()
    sample: list[tuple[str, dict[str, Any]]] = []  # (customerid, features)
    for _, row in rows:
        if isinstance(row, Refusal) or row.customerid in seen:
            continue
        seen.add(row.customerid)
        if len(sample) < SAMPLE:
            sample.append((row.customerid, row.features))
    accepted = len(seen)
    if settings.mode == "uplift":
        return {"rows": accepted, "sampled": 0, "targeted": None, "offered": None, "holdout": None, "churn_rate": None,
                "mde": None, "warning": "In uplift mode who gets an offer depends on the uplift model's predictions,"
                " known only once the list is scored: the plan is unavailable until then."}
    sample, scores = _scored(client, sample)
    scored = [ScoredRow(c, "", s.churn_probability, s.churn, settings.expected_value(s.churn_probability, f["monthlycharges"]))
              for (c, f), s in zip(sample, scores, strict=True)]
    targets = [r for r in scored if is_target(settings, r)]
    targeted = round(len(targets) / len(scores) * accepted) if scores else 0
    if settings.max_offers is not None:
        targeted = min(targeted, settings.max_offers)
    kept = _within_budget(settings, scored, accepted)
    holdout = round(targeted * settings.holdout)
    offered = targeted - holdout
    churn_rate = sum(r.churn_probability for r in kept) / len(kept) if kept else None
    mde = stats.minimum_detectable_effect(offered, holdout, churn_rate or 0.0)
    return {"rows": accepted, "sampled": len(scores), "targeted": targeted, "offered": offered, "holdout": holdout,
            "churn_rate": churn_rate, "mde": mde if math.isfinite(mde) and kept else None,
            "warning": _warning(offered, holdout, mde if kept else math.inf)}


def _within_budget(settings: CampaignSettings, scored: list[ScoredRow], accepted: int) -> list[ScoredRow]:
    """The sampled targets `max_offers` keeps, chosen by the campaign's own rule (targeting.decide: highest
    expected value first), with the budget scaled from the whole list to the sample; no holdout and no explore
    here, so `offer` is exactly "targeted and within budget"."""
    budget = settings.max_offers
    if budget is not None and scored:
        budget = min(len(scored), max(1, round(budget * len(scored) / accepted))) if budget else 0
    decisions = decide(0, replace(settings, max_offers=budget, holdout=0.0, explore=0.0), scored, {})
    return [r for r in scored if decisions[r.customerid] == "offer"]


def _warning(offered: int, holdout: int, mde: float) -> str | None:
    if not math.isfinite(mde):
        return (f"With {offered} offered and {holdout} held out there is nothing to compare: the campaign cannot show"
                " whether its offers work. Target more customers or set a holdout share above 0.")
    if mde > MDE_WARNING:
        return (f"With about {offered} offered and {holdout} held out, only a difference in churn of {mde * 100:.1f}"
                " points or more would be found reliably (80 % of the time), more than 5 points. A larger holdout or a"
                " longer list shows smaller effects.")
    return None


def _scored(client: ChurnClient, sample: list[tuple[str, dict[str, Any]]]
            ) -> tuple[list[tuple[str, dict[str, Any]]], list[Score]]:
    """The sample's scores; rows churn refuses are left out (tried once more without them)."""
    for _ in range(2):
        try:
            return sample, client.score([f for _, f in sample]) if sample else []
        except ChurnUnavailable as exc:
            raise ApiError(503, "churn_unavailable", f"the plan needs the churn service to score a sample: {exc}") from None
        except ChurnRejected as exc:
            sample = [f for i, f in enumerate(sample) if not exc.reason_for(i)]
    raise ApiError(422, "invalid_upload", "churn refused the sampled customers", [{"field": "file", "message": "churn"
                                                                                 " refused the sampled customers"}])


def from_request(client: ChurnClient) -> dict[str, Any]:
    """The plan of a multipart form as POST /api/campaigns takes it (`file` + settings; the name may be blank)."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ApiError(422, "invalid_upload", "attach the customer list as the file field `file` (CSV)",
                       [{"field": "file", "message": "is required"}])
    try:
        _, settings = parse_settings({**request.form.to_dict(), "name": request.form.get("name") or "plan"})
    except InvalidSettings as exc:
        raise ApiError(422, "invalid_settings", "the campaign settings are invalid",
                       [{"field": f, "message": m} for f, m in exc.errors.items()]) from None
    try:
        return plan(client, csv_rows(upload.stream), settings)
    except UploadError as exc:
        raise ApiError(422, "invalid_upload", str(exc), [{"field": "file", "message": str(exc)}]) from None
