"""Campaigns over real gunicorn (DESIGN §8): a CSV as exported, bad rows refused by line, exactly one decision
per accepted customer, the offers in the outbox, formula cells neutralised in the downloads, and bad files
answered clearly without storing anything (refused in process; the 60 MB upload by the real server)."""
from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import Gunicorn, Marketing, count, wait_for
from tests.in_process import Answer, InProcess
from tests.integration.campaign_files import finished, telco_csv, upload

BACKENDS = ("sqlite", "postgres")  # each storage test runs on both (integration/conftest.py)


def upload_in_process(service: InProcess, body: bytes, **settings: str) -> Answer:
    """A refused upload needs no server of its own: the app in this process answers it (DESIGN §10)."""
    return service.post("/api/campaigns", content_type="multipart/form-data",
                        data={"file": (io.BytesIO(body), "customers.csv", "text/csv"), "name": "test", **settings})


def test_a_csv_campaign_decides_every_accepted_row_once_and_lists_bad_rows_by_line(marketing: Marketing) -> None:
    bad = {3: {"Contract": "weekly"}, 7: {"email": "not-an-email"}, 11: {"customerID": "K000002"},
           5: {"name": '=HYPERLINK("http://evil.example","click")'}}
    response = upload(marketing, telco_csv(400, extra=bad), threshold="0.5", max_offers="30", holdout="0.2")
    assert response.status_code == 202 and response.headers["Location"].endswith(f"/api/campaigns/{response.json()['id']}")
    status = finished(marketing, response.json()["id"])
    assert (status["rows"], status["accepted"], status["rejected"]) == (400, 397, 3)
    assert status["offers"] + status["holdout"] <= 30 and status["offers"] > 0 and status["progress"] == 1.0

    rejects = list(csv.DictReader(io.StringIO(marketing.http.get(f"{marketing.url}/api/campaigns/{status['id']}/rejects.csv",
                                                                 timeout=5).text)))
    # Line 1 is the header: data row i is on line i + 2.
    assert {(r["line"], r["field"]) for r in rejects} == {("5", "contract"), ("9", "email"), ("13", "customerid")}
    results = list(csv.DictReader(io.StringIO(marketing.http.get(f"{marketing.url}/api/campaigns/{status['id']}/results.csv",
                                                                 timeout=5).text)))
    assert len(results) == 397 and len({r["customerid"] for r in results}) == 397
    decisions = [r["decision"] for r in results]
    assert decisions.count("offer") == status["offers"] and decisions.count("holdout") == status["holdout"]
    assert all(float(r["churn_probability"]) >= 0.5 for r in results if r["decision"] in ("offer", "holdout", "over_budget"))
    assert all(r["reasons"] for r in results if r["decision"] == "offer")  # a likely churner always has reasons
    label = f"campaign-{status['id']}"
    assert count(marketing.db, "SELECT COUNT(*) FROM offers WHERE campaign = ?", label) == status["offers"]
    addresses = {f"k{i}@example.com" for i in range(400)}  # telco_csv's, for this campaign's rows
    wait_for(lambda: len(marketing.emails(to=addresses)) == status["offers"], timeout=30, what="every offer email")


def test_formula_cells_are_neutralised_in_the_downloads(marketing: Marketing) -> None:
    body = telco_csv(3, prefix="F", extra={0: {"customerID": "=1+2"}, 1: {"customerID": "@SUM(A1)", "Contract": "x"}})
    status = finished(marketing, upload(marketing, body).json()["id"])
    results = marketing.http.get(f"{marketing.url}/api/campaigns/{status['id']}/results.csv", timeout=5).text
    rejects = marketing.http.get(f"{marketing.url}/api/campaigns/{status['id']}/rejects.csv", timeout=5).text
    assert "'=1+2" in results and "\n=1+2" not in results
    assert "'@SUM(A1)" in rejects


@pytest.mark.parametrize(("body", "what"), [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200), "binary"),
    (b"customerID,gender,email\nA,Male,a@example.com\n", "header has no column"),
    ("customerID,email,gender,seniorcitizen,partner,dependents,tenure,phoneservice,multiplelines,internetservice,"
     "onlinesecurity,onlinebackup,deviceprotection,techsupport,streamingtv,streamingmovies,contract,paperlessbilling,"
     "paymentmethod,monthlycharges,totalcharges\nA,a@x.co,Männlich,0,Yes,No,1,No,No,DSL,No,No,No,No,No,No,"
     "Month-to-month,Yes,Electronic check,29.85,29.85\n".encode("latin-1"), "UTF-8"),
    (b"", "empty"),
    (b"just,some,words\n1,2,3\n", "customerid"),
])
def test_unusable_files_get_a_clear_422_and_store_nothing(marketing_app: InProcess, body: bytes, what: str) -> None:
    response = upload_in_process(marketing_app, body)
    assert response.status_code == 422, response.text
    assert what in response.json()["error"]["message"]
    assert count(marketing_app.db, "SELECT COUNT(*) FROM campaigns") == 0


@pytest.mark.backends("sqlite")  # no storage involved: one back end is enough
def test_a_60_mb_file_is_a_413_over_the_default_50_mb_limit(marketing: Marketing) -> None:
    before = count(marketing.db, "SELECT COUNT(*) FROM campaigns")
    response = upload(marketing, b"customerID,email\n" + b"x" * 60_000_000)
    assert response.status_code == 413 and response.json()["error"]["code"]
    assert count(marketing.db, "SELECT COUNT(*) FROM campaigns") == before


def test_a_json_campaign_takes_the_same_customers_and_settings(marketing: Marketing) -> None:
    from tests.samples import LIKELY_CHURNER, LOYAL_CUSTOMER

    customers = [{**LIKELY_CHURNER, "customerID": "J1", "email": "j1@example.com"},
                 {**LOYAL_CUSTOMER, "customerid": "J2", "email": "j2@example.com"},
                 {**LOYAL_CUSTOMER, "customerid": "J3", "email": "nope"}]
    response = marketing.http.post(f"{marketing.url}/api/campaigns", json={"name": "json", "customers": customers,
                                                                           "holdout": 0}, timeout=10)
    assert response.status_code == 202
    status = finished(marketing, response.json()["id"])
    assert (status["accepted"], status["rejected"], status["offers"], status["holdout"]) == (2, 1, 1, 0)


def test_bad_settings_are_named_field_by_field(marketing_app: InProcess) -> None:
    response = upload_in_process(marketing_app, telco_csv(2), mode="random", holdout="2")
    assert response.status_code == 422
    assert {d["field"] for d in response.json()["error"]["details"]} == {"mode", "holdout"}
    assert count(marketing_app.db, "SELECT COUNT(*) FROM campaigns") == 0


def test_outcomes_give_the_uplift_of_offered_over_holdout(marketing: Marketing) -> None:
    """...and the campaign and each outcomes upload say who sent them (DESIGN §11), in the API and on the page."""
    status = finished(marketing, upload(marketing, telco_csv(300, prefix="U"), threshold="0.3", holdout="0.5").json()["id"])
    by = status["created_by"]
    assert by.startswith("token:tests-admin-"), by  # the bearer token Marketing.http sends
    results = list(csv.DictReader(io.StringIO(marketing.http.get(f"{marketing.url}/api/campaigns/{status['id']}/results.csv",
                                                                 timeout=5).text)))
    offered = [r["customerid"] for r in results if r["decision"] == "offer"]
    holdout = [r["customerid"] for r in results if r["decision"] == "holdout"]
    assert offered and holdout
    lines = ["customerid,churned"] + [f"{c},{'yes' if i % 5 == 0 else 'no'}" for i, c in enumerate(offered)] + \
            [f"{c},{'1' if i % 2 == 0 else '0'}" for i, c in enumerate(holdout)] + ["NOT-IN-IT,no", "X,maybe", ",1"]
    answer = marketing.http.post(f"{marketing.url}/api/campaigns/{status['id']}/outcomes", data="\n".join(lines),
                                 headers={"Content-Type": "text/csv"}, timeout=10).json()
    rate_o = sum(1 for i in range(len(offered)) if i % 5 == 0) / len(offered)
    rate_h = sum(1 for i in range(len(holdout)) if i % 2 == 0) / len(holdout)
    assert answer["matched"] == len(offered) + len(holdout)
    assert (answer["unmatched"], answer["rejected_lines"], [r["line"] for r in answer["rejected"]]) == \
        (1, 2, [len(lines) - 1, len(lines)])
    [logged] = marketing.http.get(f"{marketing.url}/api/campaigns/{status['id']}", timeout=5).json()["outcome_uploads"]
    assert (logged["created_by"], logged["matched"], logged["unmatched"], logged["rejected"]) == \
        (by, len(offered) + len(holdout), 1, 2)
    page = marketing.http.get(f"{marketing.url}/campaigns/{status['id']}", timeout=5).text
    assert f'<span id="created-by">{by}</span>' in page and page.count(f'<td class="created-by">{by}</td>') == 1
    assert answer["uplift"]["difference"] == pytest.approx(rate_h - rate_o)
    assert answer["uplift"]["customers_kept"] == pytest.approx((rate_h - rate_o) * len(offered))


def test_the_form_respects_the_cooldown_after_a_campaign_offer(churn: Gunicorn, marketing: Marketing, tmp_path: Path,
                                                               new_db: Callable[..., str]) -> None:
    """At most one offer per customer per OFFER_COOLDOWN_DAYS across campaigns, the form's included."""
    from tests.samples import LIKELY_CHURNER

    def form_then_campaign(server: Marketing, customerid: str) -> dict:
        record = {**LIKELY_CHURNER, "customerid": customerid, "email": f"{customerid.lower()}@example.com"}
        created = server.http.post(f"{server.url}/api/campaigns", json={"name": "c", "customers": [record], "holdout": 0},
                                   timeout=10).json()
        assert finished(server, created["id"])["offers"] == 1
        return server.http.post(f"{server.url}/api/customers", json=record, timeout=10).json()["customers"][0]

    answer = form_then_campaign(marketing, "COOL-1")  # the default cooldown
    assert answer["churn"] is True and answer["offer"] is None
    with Marketing(tmp_path, churn.url, {"OFFER_COOLDOWN_DAYS": "0"}, db=new_db()) as server:
        assert form_then_campaign(server, "COOL-2")["offer"] is not None
