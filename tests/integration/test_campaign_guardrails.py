"""Campaign mail counts, the bounce and complaint guardrail, and resume (DESIGN §12).

A campaign is taken to `done` by the background loop's own processing step (in this process, with churn
real), its offers all queued. What delivery and the providers' events would then have done to each offer is
written with SQL (another module's tests drive those), and the guardrail is the real one: called directly,
or by a pass of the real background loop. The last test runs real gunicorn: a paused campaign's queued
offers are not sent until a marketer resumes it.
"""
from __future__ import annotations

import calendar
import io
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from flask.testing import FlaskClient

from marketing_service import create_app
from marketing_service.auth.users import add_user
from marketing_service.campaigns.processing import work_once
from marketing_service.offers.guardrails import pause_unhealthy
from marketing_service.storage import iso_ago, now_iso
from marketing_service.storage.schema import TIMESTAMP
from tests.helpers import SHARED_SECRET, Gunicorn, Marketing, api_token, count, fetch_all, is_postgres, wait_for
from tests.in_process import InProcess, admin_token, config_for
from tests.integration.campaign_files import telco_csv

BACKENDS = ("sqlite", "postgres")  # each storage test runs on both (integration/conftest.py)
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def app_on(folder: Path, churn_url: str, db: str) -> InProcess:
    """Marketing in this process on `db`, with no background thread (the tests run its passes), and a
    marketer's token: the role the resume is for."""
    where = {"db_url": db, "secret_key": SHARED_SECRET} if is_postgres(db) else {"db_path": Path(db)}
    app = create_app(config_for(folder, churn_url, **where))
    return InProcess(app, db, token=admin_token(app, role="marketer", name="a-marketer"))  # db: as `count` takes it


@pytest.fixture
def service(churn: Gunicorn, new_db, tmp_path: Path) -> Iterator[InProcess]:
    service = app_on(tmp_path, churn.url, new_db())
    yield service
    service.app.extensions["marketing"].storage.close()


def finished_campaign(service: InProcess, rows: int, prefix: str) -> int:
    """A campaign in which every row gets an offer (threshold 0, no holdout), taken to `done` by the
    processing step the background loop runs, without a delivery pass: its offers are all queued."""
    created = service.post("/api/campaigns", content_type="multipart/form-data", data={
        "file": (io.BytesIO(telco_csv(rows, prefix=prefix)), "customers.csv", "text/csv"), "name": f"mail {prefix}",
        "threshold": "0", "holdout": "0"})
    assert created.status_code == 202, created.text
    campaign_id = created.json()["id"]
    marketing = service.app.extensions["marketing"]
    conn = marketing.storage.connect()
    try:
        while work_once(conn, marketing.client, marketing.config.lease_seconds, marketing.rules):
            pass
    finally:
        conn.close()
    status = service.get(f"/api/campaigns/{campaign_id}").json()
    assert (status["status"], status["offers"], status["sent"]) == ("done", rows, 0), status
    return campaign_id


def send(db: str, campaign_id: int, outcome: str, n: int, at: str | None = None) -> list[int]:
    """What delivery and the mail events did to the campaign's next `n` queued offers, at `at`: `sent` (the
    250, nothing heard since), `delivered`, `bounced` or `complained` (provider events after the 250), or
    `refused` (a 550 at RCPT: the offer failed, for good, with delivery status `bounced`)."""
    stamp = at or now_iso()
    status, delivery = ("failed", "bounced") if outcome == "refused" else ("sent", outcome)
    ids = fetch_all(db, """UPDATE offers SET status = ?, delivery_status = ?, delivery_at = ?, attempts = 1,
                             sent_at = CASE WHEN ? = 'sent' THEN ? END,
                             next_attempt_at = CASE WHEN ? = 'failed' THEN 1e18 ELSE next_attempt_at END
                           WHERE id IN (SELECT id FROM offers WHERE campaign = ? AND status = 'queued' ORDER BY id LIMIT ?)
                           RETURNING id""",
                    status, delivery, stamp, status, stamp, status, f"campaign-{campaign_id}", n)
    assert len(ids) == n, f"campaign {campaign_id} has only {len(ids)} queued offers left"
    return [row[0] for row in ids]


def later_than(stamp: str, seconds: int = 1) -> str:
    return time.strftime(TIMESTAMP, time.gmtime(calendar.timegm(time.strptime(stamp, TIMESTAMP)) + seconds))


def guardrail(service: InProcess) -> list[int]:
    conn = service.app.extensions["marketing"].storage.connect()
    try:
        return pause_unhealthy(conn)
    finally:
        conn.close()


def status_of(service: InProcess, campaign_id: int) -> dict:
    return service.get(f"/api/campaigns/{campaign_id}").json()


def test_counts_and_rates_count_each_offer_once_in_the_api_and_on_the_pages(service: InProcess) -> None:
    campaign_id = finished_campaign(service, 120, "M")
    status = status_of(service, campaign_id)
    assert {k: status[k] for k in ("sent", "delivered", "bounced", "complained", "bounce_rate", "complaint_rate")} == \
        {"sent": 0, "delivered": 0, "bounced": 0, "complained": 0, "bounce_rate": None, "complaint_rate": None}
    assert 'id="mail-sent">0 of 120 offers</dd>' in service.get(f"/campaigns/{campaign_id}").text

    send(service.db, campaign_id, "delivered", 80)
    send(service.db, campaign_id, "sent", 13)
    bounced = send(service.db, campaign_id, "bounced", 3) + send(service.db, campaign_id, "refused", 3)
    [complained] = send(service.db, campaign_id, "complained", 1)
    # Providers retry webhooks and send several events for one message: the offer still counts once.
    for offer_id, kind, n in ((bounced[0], "bounce", 3), (complained, "complaint", 2)):
        for i in range(n):
            fetch_all(service.db, "INSERT INTO mail_events (provider, event_id, type, bounce_type, email, offer_id,"
                      " received_at) VALUES ('generic', ?, ?, 'hard', 'x@example.com', ?, ?) RETURNING id",
                      f"event-{offer_id}-{i}", kind, offer_id, now_iso())
    other = finished_campaign(service, 10, "N")  # another campaign's bounces are its own
    send(service.db, other, "bounced", 4)

    status = status_of(service, campaign_id)
    assert {k: status[k] for k in ("sent", "delivered", "bounced", "complained")} == \
        {"sent": 100, "delivered": 80, "bounced": 6, "complained": 1}
    assert (status["bounce_rate"], status["complaint_rate"]) == (pytest.approx(0.06), pytest.approx(0.01))
    assert (status_of(service, other)["sent"], status_of(service, other)["bounce_rate"]) == (4, 1.0)
    listed = {c["id"]: c for c in service.get("/api/campaigns").json()["campaigns"]}
    assert (listed[campaign_id]["sent"], listed[campaign_id]["bounced"]) == (100, 6)

    page = service.get(f"/campaigns/{campaign_id}").text
    assert 'id="mail-sent">100 of 120 offers</dd>' in page
    assert 'id="mail-delivered">80</dd>' in page
    assert 'id="mail-bounced">6 (6.0 % of sent)</dd>' in page
    assert 'id="mail-complained">1 (1.00 % of sent)</dd>' in page
    assert "after at least 100 sends, its hard-bounce rate reaches 5 % or its complaint rate 0.1 %" in page
    listing = service.get("/campaigns").text
    assert "<th>Sent</th>" in listing and '<td class="num">120</td><td class="num">100</td>' in listing


def test_hard_bounces_pause_at_5_percent_once_there_are_100_sends_and_not_before(service: InProcess) -> None:
    campaign_id = finished_campaign(service, 150, "B")
    under = finished_campaign(service, 120, "U")
    send(service.db, campaign_id, "delivered", 94)
    send(service.db, campaign_id, "refused", 2)  # a 550 at RCPT and a bounce event count alike
    send(service.db, campaign_id, "bounced", 3)
    send(service.db, under, "delivered", 96)
    send(service.db, under, "bounced", 4)
    assert guardrail(service) == []  # 5 in 99 sends is over 5 %, but 99 sends are too few to judge; 4 % is under
    assert status_of(service, campaign_id)["status"] == "done"

    send(service.db, campaign_id, "sent", 1)  # the 100th send: 5 bounces in 100 is 5 %, the line itself
    assert guardrail(service) == [campaign_id]
    status = status_of(service, campaign_id)
    assert (status["status"], status["paused_reason"]) == ("paused", "hard-bounce rate 5.0 % ≥ 5 % after 100 sends")
    assert status["progress"] == 1.0 and status["resumed_at"] is None
    assert status_of(service, under)["status"] == "done"
    assert guardrail(service) == []  # paused once, not again


def test_complaints_pause_at_one_in_a_thousand(service: InProcess) -> None:
    campaign_id = finished_campaign(service, 1005, "C")
    send(service.db, campaign_id, "delivered", 1000)
    send(service.db, campaign_id, "complained", 1)
    assert guardrail(service) == []  # 1 in 1001 is just under 0.1 %
    send(service.db, campaign_id, "complained", 1)
    assert guardrail(service) == [campaign_id]
    assert status_of(service, campaign_id)["paused_reason"] == "complaint rate 0.20 % ≥ 0.1 % after 1002 sends"


def test_only_a_campaign_still_sending_is_paused_by_the_background_loop(service: InProcess) -> None:
    """The real loop's pass pauses a campaign whose rest waits for a retry; one whose mail has all gone, or
    gone for good, is left as it is: there is nothing left to stop."""
    waiting = finished_campaign(service, 130, "W")
    finished = finished_campaign(service, 110, "F")
    send(service.db, waiting, "delivered", 90)
    send(service.db, waiting, "bounced", 10)
    fetch_all(service.db, "UPDATE offers SET status = 'failed', attempts = 1, next_attempt_at = ? WHERE campaign = ?"
              " AND status = 'queued' RETURNING id", time.time() + 3600, f"campaign-{waiting}")  # a 421: retry later
    send(service.db, finished, "delivered", 90)
    send(service.db, finished, "bounced", 10)
    send(service.db, finished, "refused", 10)
    marketing = service.app.extensions["marketing"]
    conn = marketing.storage.connect()
    try:
        marketing.background.run_once(conn)
    finally:
        conn.close()
    assert status_of(service, waiting)["status"] == "paused"
    assert status_of(service, finished)["status"] == "done"
    assert count(service.db, "SELECT COUNT(*) FROM offers WHERE campaign = ? AND status = 'failed' AND delivery_status"
                 " IS NULL", f"campaign-{waiting}") == 30  # still waiting, not sent by the pass


def test_resume_sends_again_and_the_guardrail_counts_afresh(service: InProcess) -> None:
    campaign_id = finished_campaign(service, 260, "R")
    send(service.db, campaign_id, "delivered", 90, at=iso_ago(3600))
    send(service.db, campaign_id, "bounced", 10, at=iso_ago(3600))
    assert guardrail(service) == [campaign_id]
    viewer = InProcess(service.app, token=admin_token(service.app, role="viewer", name="a-viewer"))
    refused = viewer.post(f"/api/campaigns/{campaign_id}/resume")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert status_of(service, campaign_id)["status"] == "paused"

    resumed = service.post(f"/api/campaigns/{campaign_id}/resume")
    assert resumed.status_code == 200, resumed.text
    body = resumed.json()
    assert (body["id"], body["status"], body["paused_reason"], body["sent"]) == (campaign_id, "done", None, 100)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["resumed_at"]), body["resumed_at"]
    assert status_of(service, campaign_id) == {**body, "uplift": None, "outcome_uploads": []}
    assert guardrail(service) == []  # the 10 % before the resume no longer counts

    after = later_than(body["resumed_at"])
    send(service.db, campaign_id, "delivered", 95, at=after)
    send(service.db, campaign_id, "bounced", 4, at=after)
    assert guardrail(service) == []  # 99 sends since the resume
    send(service.db, campaign_id, "bounced", 1, at=after)
    assert guardrail(service) == [campaign_id]  # 5 in 100 since the resume
    status = status_of(service, campaign_id)
    assert status["paused_reason"] == "hard-bounce rate 5.0 % ≥ 5 % after 100 sends since it was resumed"
    assert (status["sent"], status["bounced"]) == (200, 15)  # the page and API still count the whole campaign

    again = service.post(f"/api/campaigns/{campaign_id}/resume")
    assert again.status_code == 200 and again.json()["status"] == "done"
    not_paused = service.post(f"/api/campaigns/{campaign_id}/resume")
    assert not_paused.status_code == 409 and not_paused.json()["error"]["code"] == "not_paused"
    unknown = service.post("/api/campaigns/987654/resume")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"


def test_a_running_campaign_resumes_to_running(service: InProcess) -> None:
    """Paused before its decisions were written (no finished_at), it goes back to scoring, not to `done`."""
    campaign_id = finished_campaign(service, 150, "S")
    fetch_all(service.db, "UPDATE campaigns SET status = 'paused', paused_reason = 'test', finished_at = NULL"
              " WHERE id = ? RETURNING id", campaign_id)
    assert service.post(f"/api/campaigns/{campaign_id}/resume").json()["status"] == "running"


def signed_in_marketer(service: InProcess) -> FlaskClient:
    conn = service.app.extensions["marketing"].storage.connect()
    try:
        add_user(conn, "mara", "marketer", "a-marketer-password", "tests")
    finally:
        conn.close()
    browser = service.app.test_client()
    browser.environ_base["HTTP_ACCEPT"] = BROWSER_ACCEPT
    token = CSRF_FIELD.search(browser.get("/login").get_data(as_text=True))
    assert token is not None
    answer = browser.post("/login", data={"username": "mara", "password": "a-marketer-password", "csrf_token": token[1]})
    assert answer.status_code == 303, answer.get_data(as_text=True)
    return browser


def test_the_page_says_why_it_paused_and_its_button_resumes_it(service: InProcess) -> None:
    campaign_id = finished_campaign(service, 140, "P")
    send(service.db, campaign_id, "delivered", 114)
    send(service.db, campaign_id, "bounced", 6)
    assert guardrail(service) == [campaign_id]
    browser = signed_in_marketer(service)
    page = browser.get(f"/campaigns/{campaign_id}").get_data(as_text=True)
    assert '<span class="status campaign-paused" id="campaign-status">paused</span>' in page
    assert '<strong id="paused-reason">hard-bounce rate 5.0 % ≥ 5 % after 120 sends</strong>' in page
    assert f'action="/campaigns/{campaign_id}/resume"' in page and ">Resume sending</button>" in page
    assert "campaign.js" not in page and 'http-equiv="refresh"' not in page  # paused: nothing polls or spins
    assert 'id="histogram"' in page and 'id="mail-bounced">6 (5.0 % of sent)</dd>' in page  # the report stays
    assert '<span class="status campaign-paused">paused</span>' in browser.get("/campaigns").get_data(as_text=True)

    forged = browser.post(f"/campaigns/{campaign_id}/resume")  # no csrf_token
    assert forged.status_code == 400 and status_of(service, campaign_id)["status"] == "paused"
    token = CSRF_FIELD.search(page)
    assert token is not None
    answer = browser.post(f"/campaigns/{campaign_id}/resume", data={"csrf_token": token[1]})
    assert answer.status_code == 303 and answer.headers["Location"] == f"/campaigns/{campaign_id}"
    page = browser.get(f"/campaigns/{campaign_id}").get_data(as_text=True)
    assert '<span class="status campaign-done" id="campaign-status">done</span>' in page and "Resume sending" not in page
    twice = browser.post(f"/campaigns/{campaign_id}/resume", data={"csrf_token": token[1]})
    assert twice.status_code == 409 and "Only a paused campaign can be resumed." in twice.get_data(as_text=True)
    assert browser.post("/campaigns/987654/resume", data={"csrf_token": token[1]}).status_code == 404


def test_a_paused_campaign_sends_nothing_until_a_marketer_resumes_it(churn: Gunicorn, tmp_path: Path) -> None:
    """Real gunicorn on SQLite, mail written as .eml files: campaign A is paused with 50 offers queued, B is not.
    B's offers (written after A's, so claimed after them) all go out while none of A's do; resumed, A's go too.
    (Checked to fail, "the claim sent offers of a paused campaign", with the outbox claim's condition removed.)"""
    prepare = app_on(tmp_path, churn.url, str(tmp_path / "marketing.db"))
    try:
        paused = finished_campaign(prepare, 150, "A")
        send(prepare.db, paused, "delivered", 90)
        send(prepare.db, paused, "bounced", 10)
        assert guardrail(prepare) == [paused]
    finally:
        prepare.app.extensions["marketing"].storage.close()
    waiting = {row[0] for row in fetch_all(prepare.db, "SELECT to_addr FROM offers WHERE campaign = ? AND status = 'queued'",
                                           f"campaign-{paused}")}
    assert len(waiting) == 50

    with Marketing(tmp_path, churn.url) as marketing:
        created = marketing.http.post(f"{marketing.url}/api/campaigns", timeout=30, data={
            "name": "not paused", "threshold": "0", "holdout": "0"},
            files={"file": ("customers.csv", telco_csv(20, prefix="G"), "text/csv")})
        assert created.status_code == 202, created.text
        others = {f"g{i}@example.com" for i in range(20)}
        wait_for(lambda: len(marketing.emails(to=others)) == 20, timeout=60, what="the other campaign's 20 emails")
        assert marketing.emails(to=waiting) == [], "the claim sent offers of a paused campaign"
        assert count(marketing.db, "SELECT COUNT(*) FROM offers WHERE campaign = ? AND status = 'queued'",
                     f"campaign-{paused}") == 50

        marketer = {"Authorization": f"Bearer {api_token(marketing.db, role='marketer')}"}
        resumed = requests.post(f"{marketing.url}/api/campaigns/{paused}/resume", headers=marketer, timeout=10)
        assert resumed.status_code == 200 and resumed.json()["status"] == "done", resumed.text
        wait_for(lambda: len(marketing.emails(to=waiting)) == 50, timeout=60, what="the resumed campaign's 50 emails")
        assert requests.get(f"{marketing.url}/api/campaigns/{paused}", headers=marketer, timeout=10).json()["status"] == "done"
