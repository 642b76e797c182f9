"""Unsubscribe as RFC 8058 has it, over real gunicorn: every offer email carries a signed one-click link;
a forged one is a 400 that suppresses nothing; after a real one, that address never gets an offer again."""
from __future__ import annotations

import email
from collections.abc import Callable
from pathlib import Path

import requests
from itsdangerous import URLSafeSerializer

from tests.helpers import Gunicorn, Marketing, count, customer, wait_for
from tests.samples import LIKELY_CHURNER

BACKENDS = ("sqlite", "postgres")  # each storage test runs on both (integration/conftest.py)

SECRET = "unsubscribe-test-secret"
MARKETING_SETTINGS = {"SECRET_KEY": SECRET}  # the module's `marketing` (integration/conftest.py)


def submit(server: Marketing, record: dict) -> dict:
    response = server.http.post(f"{server.url}/api/customers", json=record, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["customers"][0]


def test_one_click_unsubscribe_stops_every_later_offer(marketing: Marketing) -> None:
    """The links point at the server's own address (its PUBLIC_URL), where people reach it."""
    suppressed = "SELECT COUNT(*) FROM suppressions WHERE email = 'ann.lee@example.com'"
    first = submit(marketing, customer(LIKELY_CHURNER, "UNSUB-1") | {"email": "Ann.Lee@Example.com"})
    [eml] = wait_for(lambda: marketing.emails(to="ann.lee@example.com"), timeout=20, what="the first offer email")
    message = email.message_from_bytes(eml.read_bytes())
    link = message["List-Unsubscribe"].strip("<>")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert link.startswith(f"{marketing.url}/unsubscribe/") and link in message.get_payload(decode=True).decode()
    assert first["offer"] is not None

    token = link.rsplit("/", 1)[1]
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    refused = requests.post(f"{marketing.url}/unsubscribe/{forged}", data={"List-Unsubscribe": "One-Click"}, timeout=5)
    assert refused.status_code == 400 and refused.json()["error"]["code"]
    other = URLSafeSerializer("someone-elses-secret", salt="unsubscribe").dumps("ann.lee@example.com")
    assert requests.post(f"{marketing.url}/unsubscribe/{other}", timeout=5).status_code == 400
    assert count(marketing.db, suppressed) == 0

    page = requests.get(f"{marketing.url}/unsubscribe/{token}", timeout=5, headers={"Accept": "text/html"})
    assert page.status_code == 200 and "ann.lee@example.com" in page.text
    assert count(marketing.db, suppressed) == 0, "opening the link must not unsubscribe"

    done = requests.post(f"{marketing.url}/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"}, timeout=5)
    assert done.status_code == 200
    again = submit(marketing, customer(LIKELY_CHURNER, "UNSUB-2") | {"email": "ann.lee@EXAMPLE.com"})
    assert again["churn"] is True and again["offer"] is None
    assert count(marketing.db, suppressed) == 1
    assert count(marketing.db, suppressed + " AND created_by = 'unsubscribe link'") == 1  # who asked (DESIGN §11)
    assert len(marketing.emails(to="ann.lee@example.com")) == 1


def test_an_offer_queued_before_unsubscribing_is_never_sent(churn: Gunicorn, tmp_path: Path,
                                                            new_db: Callable[..., str]) -> None:
    """The address is suppressed while its offer waits in the outbox (delivery paused): it stays unsent."""
    database = new_db()
    with Marketing(tmp_path, churn.url, {"SECRET_KEY": SECRET, "BACKGROUND": "0"}, db=database) as server:
        queued = submit(server, customer(LIKELY_CHURNER, "UNSUB-3") | {"email": "bo@example.com"})
        assert queued["offer"]["status"] == "queued"
        token = URLSafeSerializer(SECRET, salt="unsubscribe").dumps("bo@example.com")
        response = requests.post(f"{server.url}/unsubscribe/{token}", headers={"Accept": "application/json"}, timeout=5)
        assert response.json() == {"status": "unsubscribed"}
    with Marketing(tmp_path, churn.url, {"SECRET_KEY": SECRET}, db=database) as server:  # delivery running again
        wait_for(lambda: count(server.db, "SELECT COUNT(*) FROM offers WHERE status = 'queued'") == 0,
                 timeout=10, what="the outbox to settle")
        assert server.emails() == []
        assert count(server.db, "SELECT COUNT(*) FROM offers WHERE status = 'sent'") == 0


def test_a_campaign_offers_nothing_to_an_address_that_unsubscribed(marketing: Marketing) -> None:
    token = URLSafeSerializer(SECRET, salt="unsubscribe").dumps("gone@example.com")
    assert requests.post(f"{marketing.url}/unsubscribe/{token}", timeout=5).status_code == 200
    customers = [{**LIKELY_CHURNER, "customerid": "S1", "email": "Gone@Example.com"},
                 {**LIKELY_CHURNER, "customerid": "S2", "email": "stays@example.com"}]
    created = marketing.http.post(f"{marketing.url}/api/campaigns", timeout=10,
                            json={"name": "after unsubscribe", "customers": customers, "holdout": 0}).json()
    status = wait_for(lambda: (s := marketing.http.get(f"{marketing.url}/api/campaigns/{created['id']}", timeout=5).json())
                      ["status"] == "done" and s, timeout=30, what="the campaign done")
    assert (status["suppressed"], status["offers"]) == (1, 1)
    addresses = {"gone@example.com", "stays@example.com"}
    wait_for(lambda: len(marketing.emails(to=addresses)) == 1, timeout=20, what="the one email")
    assert marketing.emails(to=addresses) == marketing.emails(to="stays@example.com")
