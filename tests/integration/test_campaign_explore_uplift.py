"""DESIGN §14 over real gunicorn: a campaign's `explore` share offers to below-target customers (the drawn ones
stored as explored, propensity = the share, in results.csv), their outcomes make the history `mode = uplift`
learns from, and without enough of it `mode = uplift` is refused at once, naming the counts (API and form)."""
from __future__ import annotations

import csv
import io
import json
import re

import pytest

from marketing_service.campaigns.uplift_model import LABELLED, OFFERED
from tests.helpers import Marketing, count, fetch_all
from tests.in_process import InProcess
from tests.integration.campaign_files import finished, telco_csv, upload

BACKENDS = ("sqlite", "postgres")


def results(server: Marketing, campaign_id: int) -> list[dict[str, str]]:
    text = server.http.get(f"{server.url}/api/campaigns/{campaign_id}/results.csv", timeout=10).text
    return list(csv.DictReader(io.StringIO(text)))


def arms(db: str) -> tuple[int, int]:
    """The arms as uplift_model counts them (its own definition, read by SQL here)."""
    return (count(db, f"SELECT COUNT(*) {LABELLED} AND {OFFERED}"),  # noqa: S608 - our constants
            count(db, f"SELECT COUNT(*) {LABELLED} AND NOT {OFFERED}"))  # noqa: S608


def test_mode_uplift_without_enough_history_is_a_422_naming_the_counts(marketing: Marketing) -> None:
    before, (offered, not_offered) = count(marketing.db, "SELECT COUNT(*) FROM campaigns"), arms(marketing.db)
    answer = upload(marketing, telco_csv(5, prefix="UR"), mode="uplift")
    assert answer.status_code == 422, answer.text[:300]
    message = answer.json()["error"]["message"]
    assert f"there are {offered} offered and {not_offered} not offered" in message and "at least 200" in message
    assert [d["field"] for d in answer.json()["error"]["details"]] == ["mode"]
    assert count(marketing.db, "SELECT COUNT(*) FROM campaigns") == before


@pytest.mark.backends("sqlite")  # the form only re-renders; no storage beyond the count
def test_the_form_marks_mode_when_uplift_has_no_history(marketing_app: InProcess) -> None:
    token = re.search(r'name="csrf_token" value="([^"]+)"', marketing_app.get("/campaigns").text)
    assert token, "the form carries a CSRF token"
    page = marketing_app.post("/campaigns", content_type="multipart/form-data", data={
        "file": (io.BytesIO(telco_csv(3, prefix="UF")), "customers.csv", "text/csv"), "name": "uplift", "mode": "uplift",
        "csrf_token": token[1]})
    assert page.status_code == 422
    assert "there are 0 offered and 0 not offered" in page.text
    assert re.search(r'class="field invalid">Who gets an offer', page.text), "the mode field is marked"


def test_explored_offers_carry_the_explore_propensity_and_teach_the_uplift_mode(marketing: Marketing) -> None:
    status = finished(marketing, upload(marketing, telco_csv(1000, prefix="XP"), explore="0.3", holdout="0.5").json()["id"])
    rows = results(marketing, status["id"])
    explored = {c for (c,) in fetch_all(marketing.db, "SELECT customerid FROM campaign_rows WHERE campaign_id = ?"
                                        " AND explored = 1", status["id"])}
    below = [r for r in rows if r["decision"] == "below_target" or r["customerid"] in explored]
    decision = {r["customerid"]: r["decision"] for r in rows}
    assert {decision[c] for c in explored} <= {"offer", "below_target"}, "drawn: offered, or blocked and not"
    assert {c for c in explored if decision[c] == "offer"} == \
        {r["customerid"] for r in rows if r["decision"] == "offer" and float(r["propensity"]) == 0.3}
    assert all(float(r["propensity"]) == pytest.approx(0.3) for r in below)
    assert 0.22 < len(explored) / len(below) < 0.38
    assert all(float(r["propensity"]) == 0.5 for r in rows if r["decision"] == "holdout")
    assert status["offers"] == sum(r["decision"] == "offer" for r in rows)
    assert count(marketing.db, "SELECT COUNT(*) FROM offers WHERE campaign = ?", f"campaign-{status['id']}") == \
        status["offers"]

    lines = ["customerid,churned", *(f"{r['customerid']},{'yes' if i % 3 == 0 else 'no'}" for i, r in enumerate(rows))]
    marketing.http.post(f"{marketing.url}/api/campaigns/{status['id']}/outcomes", data="\n".join(lines),
                        headers={"Content-Type": "text/csv"}, timeout=30).raise_for_status()
    assert min(arms(marketing.db)) >= 200
    uplift = finished(marketing, upload(marketing, telco_csv(200, prefix="UP"), mode="uplift", holdout="0").json()["id"])
    stored = fetch_all(marketing.db, "SELECT uplift, expected_value, decision, features FROM campaign_rows"
                                     " WHERE campaign_id = ?", uplift["id"])
    assert len(stored) == 200 and all(u is not None and -1 <= u <= 1 for u, *_ in stored)
    for predicted, value, decision, features in stored:
        assert value == pytest.approx(predicted * json.loads(features)["monthlycharges"] * 12 - 10)
        assert decision == ("offer" if value > 0 else "below_target")
