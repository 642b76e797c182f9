"""`POST /api/mail-events` (DESIGN §12), in process on both back ends: each provider's format moves the offer's
delivery status and suppresses what must be; a webhook token may post events and nothing else, as a bearer token
or the password of HTTP Basic; a redelivery counts once; soft bounces count in a row; a refused payload stores
nothing. The payloads follow the providers' documented examples (tests/unit/test_mail_events.py has them whole);
the offers are real ones, made by posting a likely churner, with the Message-ID marketing gave them."""
from __future__ import annotations

import base64
import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.postgres import PostgresCluster
from marketing_service import create_app
from tests.helpers import REPO, Gunicorn, count, customer, fetch_all
from tests.in_process import Answer, InProcess, admin_token, config_for
from tests.samples import LIKELY_CHURNER

BACKENDS = ("sqlite", "postgres")  # each storage test runs on both (integration/conftest.py)
EVENTS = "/api/mail-events"


@dataclass
class Site:
    hook: InProcess  # requests with the webhook token
    admin: InProcess  # the same app, with an admin's token
    db: str  # what count() and fetch_all() read: the SQLite file or the PostgreSQL URL


@pytest.fixture(scope="module")
def site(churn: Gunicorn, backend_cluster: PostgresCluster | None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("mail-events")
    db = backend_cluster.create_database() if backend_cluster else str(folder / "marketing.db")
    app = create_app(config_for(folder, churn.url, **({"db_url": db} if backend_cluster else {})))
    yield Site(InProcess(app, token=admin_token(app, role="webhook", name="ses-hook")),
               InProcess(app, token=admin_token(app, role="admin", name="an-admin")), db)
    app.extensions["marketing"].storage.close()


def offer(site: Site, customerid: str) -> dict[str, Any]:
    """A queued offer for a new likely churner: its id, address and Message-ID (`<offer-ID.retention@...>`)."""
    answer = site.admin.post("/api/customers", json=customer(LIKELY_CHURNER, customerid))
    offer_id = answer.json()["customers"][0]["offer"]["id"]
    [(to, message_id)] = fetch_all(site.db, "SELECT to_addr, message_id FROM offers WHERE id = ?", offer_id)
    assert message_id.startswith("<offer-") and message_id.endswith(">")
    return {"id": offer_id, "to": to, "message_id": message_id}


def delivery(site: Site, offer_id: int) -> tuple[str, str | None, str | None]:
    [row] = fetch_all(site.db, "SELECT status, delivery_status, delivery_at FROM offers WHERE id = ?", offer_id)
    return row[0], row[1], row[2]


def suppression(site: Site, email: str) -> tuple[str, str] | None:
    rows = fetch_all(site.db, "SELECT reason, created_by FROM suppressions WHERE email = ?", email)
    return (rows[0][0], rows[0][1]) if rows else None


def post(site: Site, body: Any, **kwargs: Any) -> Answer:
    return site.hook.post(EVENTS, json=body, **kwargs)


def ses_via_sns(kind: str, detail: dict[str, Any], message_id: str, sns_id: str) -> str:
    """SNS's envelope around an SES notification whose original headers carry our Message-ID, as SNS posts it."""
    mail = {"timestamp": "2016-01-27T14:59:38.237Z", "messageId": "0000014644fe5ef6-9a483358-9170-4cb4-a269-f5dcdf415321-000000",
            "source": "offers@example.com", "destination": [], "headersTruncated": False,
            "headers": [{"name": "From", "value": "Retention Team <offers@example.com>"},
                        {"name": "Message-ID", "value": message_id}],
            "commonHeaders": {"from": ["Retention Team <offers@example.com>"], "messageId": message_id}}
    return json.dumps({"Type": "Notification", "MessageId": sns_id, "TopicArn": "arn:aws:sns:us-west-2:123456789012:MyTopic",
                       "Message": json.dumps({"notificationType": kind, "mail": mail, **detail}),
                       "Timestamp": "2012-05-02T00:54:06.655Z", "SignatureVersion": "1", "Signature": "EXAMPLEw6JRN..."})


def sns_post(site: Site, body: str, **kwargs: Any) -> Answer:
    """As SNS sends it: text/plain, with its message-type header, and the credentials of its URL as Basic."""
    headers = {"x-amz-sns-message-type": "Notification", "Content-Type": "text/plain; charset=UTF-8", **kwargs}
    return site.hook.post(EVENTS, data=body.encode(), headers=headers)


def basic(token: str, user: str = "x") -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{token}".encode()).decode()}


def test_generic_events_move_the_delivery_status_forward_only(site: Site) -> None:
    one = offer(site, "ME-GEN-1")
    bare = one["message_id"][1:-1]  # without its angle brackets: the same offer
    answer = post(site, [{"type": "delivered", "message_id": bare, "event_id": "g-1"}])
    assert answer.status_code == 200 and answer.json() == {"accepted": 1, "duplicates": 0, "ignored": 0, "unmatched": 0}
    assert delivery(site, one["id"])[1] == "delivered" and delivery(site, one["id"])[2]
    post(site, [{"type": "bounce", "message_id": one["message_id"], "bounce_type": "soft", "event_id": "g-2"}])
    assert delivery(site, one["id"])[1] == "delivered"  # a soft bounce changes nothing on the offer
    post(site, {"type": "complaint", "message_id": one["message_id"], "event_id": "g-3"})
    assert delivery(site, one["id"])[1] == "complained"  # a complaint wins over delivered
    post(site, [{"type": "delivered", "message_id": bare, "event_id": "g-4"},
                {"type": "bounce", "message_id": bare, "event_id": "g-5"}])
    assert delivery(site, one["id"])[1] == "complained"  # and neither delivered nor a bounce undoes it
    two = offer(site, "ME-GEN-2")
    post(site, [{"type": "bounce", "email": two["to"].upper(), "event_id": "g-6"}])  # by address: its latest offer
    post(site, [{"type": "delivered", "message_id": two["message_id"], "event_id": "g-7"}])
    assert delivery(site, two["id"])[1] == "bounced"  # delivered never overwrites bounced


def test_a_hard_bounce_suppresses_the_address_and_stops_its_queued_offer(site: Site) -> None:
    queued = offer(site, "ME-HARD-1")
    assert delivery(site, queued["id"])[0] == "queued"
    answer = post(site, [{"type": "bounce", "bounce_type": "hard", "message_id": queued["message_id"], "event_id": "h-1"}])
    assert answer.json()["accepted"] == 1
    assert suppression(site, queued["to"]) == ("hard_bounce", "token:ses-hook")
    status, delivery_status, _ = delivery(site, queued["id"])
    assert (status, delivery_status) == ("failed", "bounced")  # stopped, never to be sent
    assert count(site.db, "SELECT COUNT(*) FROM mail_events WHERE email = ? AND offer_id = ?", queued["to"], queued["id"]) == 1


def test_an_ses_bounce_through_sns_as_sns_sends_it(site: Site) -> None:
    queued = offer(site, "ME-SES-1")
    bounce = {"bounce": {"bounceType": "Permanent", "bounceSubType": "General", "reportingMTA": "dns; email.example.com",
                         "bouncedRecipients": [{"emailAddress": queued["to"], "status": "5.1.1", "action": "failed",
                                                "diagnosticCode": "smtp; 550 5.1.1 user unknown"}],
                         "timestamp": "2016-01-27T14:59:38.237Z", "feedbackId": "00000138111222aa-33322211-000000"}}
    body = ses_via_sns("Bounce", bounce, queued["message_id"], "sns-ses-1")
    anonymous = sns_post(site, body, Authorization="")
    assert anonymous.status_code == 401  # SNS first asks without credentials; the challenge names Basic
    assert 'Basic realm="marketing"' in anonymous.headers.get_all("WWW-Authenticate")[1]
    answer = sns_post(site, body, **basic(site.hook.token or ""))
    assert answer.status_code == 200 and answer.json()["accepted"] == 1, answer.text
    assert delivery(site, queued["id"])[1] == "bounced"
    assert suppression(site, queued["to"]) == ("hard_bounce", "token:ses-hook")
    assert fetch_all(site.db, "SELECT provider, event_id, bounce_type FROM mail_events WHERE offer_id = ?", queued["id"]) == [
        ("ses", "sns-ses-1", "hard")]


def test_sendgrid_batches_count_once_however_often_they_come(site: Site) -> None:
    sent = offer(site, "ME-SG-1")
    smtp_id = sent["message_id"]  # SendGrid's smtp-id is the Message-ID header, brackets and all

    def event(kind: str, n: int, **extra: Any) -> dict[str, Any]:
        return {"email": sent["to"], "timestamp": 1513299569 + n, "smtp-id": smtp_id, "event": kind, "category": "cat facts",
                "sg_event_id": f"sg-me-{n}", "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001", **extra}

    batch = [event("processed", 1), event("delivered", 2, response="250 OK"), event("open", 3, ip="255.255.255.255"),
             event("click", 4, url="http://www.sendgrid.com/"), event("spamreport", 5),
             event("group_unsubscribe", 6, asm_group_id=10)]
    first = post(site, batch)
    assert first.json() == {"accepted": 2, "duplicates": 0, "ignored": 4, "unmatched": 0}
    assert delivery(site, sent["id"])[1] == "complained"
    assert suppression(site, sent["to"]) == ("complaint", "token:ses-hook")
    again = post(site, batch)  # SendGrid retries a batch it thinks failed
    assert again.json() == {"accepted": 0, "duplicates": 2, "ignored": 4, "unmatched": 0}
    assert count(site.db, "SELECT COUNT(*) FROM mail_events WHERE email = ?", sent["to"]) == 2


def test_five_soft_bounces_in_a_row_suppress_and_a_delivery_between_resets_the_count(site: Site) -> None:
    def soft(email: str, n: int) -> dict[str, Any]:
        return {"type": "bounce", "bounce_type": "soft", "email": email, "event_id": f"{email}-{n}"}

    answer = post(site, [soft("full@example.net", n) for n in range(4)])
    assert answer.json() == {"accepted": 4, "duplicates": 0, "ignored": 0, "unmatched": 4}  # no offer: counted per address
    assert suppression(site, "full@example.net") is None
    post(site, [soft("full@example.net", 3)])  # a redelivered fourth is not a fifth
    assert suppression(site, "full@example.net") is None
    post(site, [soft("full@example.net", 4)])
    assert suppression(site, "full@example.net") == ("soft_bounce", "token:ses-hook")

    mixed = [soft("busy@example.net", n) for n in range(4)] + [{"type": "delivered", "email": "busy@example.net"}] + \
        [soft("busy@example.net", n) for n in range(4, 8)]
    assert post(site, mixed).json()["accepted"] == 9
    assert suppression(site, "busy@example.net") is None
    assert count(site.db, "SELECT in_a_row FROM soft_bounces WHERE email = ?", "busy@example.net") == 4


@pytest.mark.parametrize("label, body, headers, status", [
    ("unknown generic type", json.dumps([{"type": "delivered", "email": "refused@example.net"},
                                         {"type": "opened", "email": "refused@example.net"}]), {}, 422),
    ("malformed JSON", '[{"type": "bounce", "email": "refused@example.net"', {}, 400),
    ("text without SNS's header", '[{"type": "bounce", "email": "refused@example.net"}]', {"Content-Type": "text/plain"}, 415),
    ("a form", "type=bounce&email=refused@example.net", {"Content-Type": "application/x-www-form-urlencoded"}, 415),
    ("over 10,000 events", json.dumps([{"type": "bounce", "email": "refused@example.net"}] * 10_001), {}, 413),
    ("deep nesting", "[" * 100_000 + "]" * 100_000, {}, 400),
    ("an SNS message that is not SES", json.dumps({"Type": "Notification", "MessageId": "m", "Message": "Hello world!"}),
     {"Content-Type": "text/plain", "x-amz-sns-message-type": "Notification"}, 422),
    ("a list of numbers", "[1, 2, 3]", {}, 422),
])
def test_a_refused_payload_is_a_clear_4xx_and_stores_nothing(site: Site, label: str, body: str, headers: dict[str, str],
                                                             status: int) -> None:
    before = count(site.db, "SELECT COUNT(*) FROM mail_events")
    answer = site.hook.post(EVENTS, data=body.encode(), headers={"Content-Type": "application/json", **headers})
    assert answer.status_code == status, answer.text[:300]
    assert answer.json()["error"]["message"]
    assert count(site.db, "SELECT COUNT(*) FROM mail_events") == before
    assert suppression(site, "refused@example.net") is None
    if label == "unknown generic type":
        assert [(d["index"], d["field"]) for d in answer.json()["error"]["details"]] == [(1, "type")]


def test_an_sns_subscription_is_answered_and_logged_never_fetched(site: Site, caplog: pytest.LogCaptureFixture) -> None:
    url = "https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-west-2:123456789012:MyTopic&Token=2336412f37"
    body = json.dumps({"Type": "SubscriptionConfirmation", "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
                       "Token": "2336412f37", "TopicArn": "arn:aws:sns:us-west-2:123456789012:MyTopic",
                       "Message": "You have chosen to subscribe to the topic arn:aws:sns:us-west-2:123456789012:MyTopic.\n"
                                  "To confirm the subscription, visit the SubscribeURL included in this message.",
                       "SubscribeURL": url, "Timestamp": "2012-04-26T20:45:04.751Z", "SignatureVersion": "1"})
    with caplog.at_level(logging.WARNING):
        answer = sns_post(site, body, **{"x-amz-sns-message-type": "SubscriptionConfirmation"})
    assert answer.status_code == 200 and "confirm" in answer.json()["note"]
    assert any(url in record.getMessage() for record in caplog.records)


def test_basic_auth_takes_the_token_as_password_on_this_route_only(site: Site) -> None:
    hook, admin = site.hook.token or "", site.admin.token or ""
    event = [{"type": "delivered", "email": "basic@example.net"}]
    assert site.hook.post(EVENTS, json=event, headers=basic(hook, user="sendgrid")).status_code == 200
    assert site.hook.post(EVENTS, json=event, headers=basic(hook, user="")).status_code == 200  # any user name
    wrong = site.hook.post(EVENTS, json=event, headers=basic(hook + "x"))
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "unauthorized"
    assert site.admin.get("/api/offers", headers=basic(admin)).status_code == 401  # elsewhere, a bearer token only


def test_a_webhook_token_may_post_events_and_nothing_else(site: Site) -> None:
    refused = site.hook.get("/api/offers")
    assert refused.status_code == 403 and "mail-events" in refused.json()["error"]["message"]
    assert site.hook.post("/api/customers", json=customer(LIKELY_CHURNER, "ME-NOPE")).status_code == 403
    marketer = InProcess(site.hook.app, token=admin_token(site.hook.app, role="marketer", name="a-marketer"))
    assert marketer.post(EVENTS, json={"type": "delivered", "email": "m@example.net"}).status_code == 200
    viewer = InProcess(site.hook.app, token=admin_token(site.hook.app, role="viewer", name="a-viewer"))
    assert viewer.post(EVENTS, json={"type": "delivered", "email": "m@example.net"}).status_code == 403


def test_the_offer_lists_and_pages_show_the_delivery_status(site: Site) -> None:
    shown = offer(site, "ME-LIST-1")
    post(site, [{"type": "delivered", "message_id": shown["message_id"], "event_id": "list-1"}])
    [listed] = [o for o in site.admin.get("/api/offers?limit=1000").json()["offers"] if o["id"] == shown["id"]]
    assert listed["delivery_status"] == "delivered" and listed["delivery_at"]
    page = site.admin.get(f"/offers/{shown['id']}", headers={"Accept": "text/html"}).text
    assert 'class="status status-delivered">delivered<' in page
    assert "status-delivered" in site.admin.get("/offers", headers={"Accept": "text/html"}).text


def test_an_admin_makes_webhook_tokens_but_no_webhook_users(site: Site) -> None:
    made = site.admin.post("/admin/tokens", data={"name": "sendgrid-hook", "role": "webhook"})
    assert made.status_code == 201 and "sendgrid-hook" in made.text
    person = site.admin.post("/admin/users", data={"name": "hookie", "role": "webhook", "password": "a-long-password-1"})
    assert person.status_code == 422 and "for API tokens only" in person.text
    assert count(site.db, "SELECT COUNT(*) FROM users WHERE name = 'hookie'") == 0


def test_the_cli_creates_webhook_tokens_and_refuses_webhook_users(tmp_path: Path) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "marketing_service", *args], input="a-long-password-1\n",
                              capture_output=True, text=True, cwd=REPO, timeout=60,
                              env={"MARKETING_DB": str(tmp_path / "marketing.db"), "PATH": "/usr/bin:/bin"})

    made = cli("tokens", "create", "ses-hook", "--role", "webhook")
    assert made.returncode == 0 and made.stdout.startswith("mkt_"), made.stderr
    person = cli("users", "add", "hookie", "--role", "webhook")
    assert person.returncode == 1 and "for API tokens only" in person.stderr
