"""Marketing and churn under real gunicorn: decisions stored, offers emailed once, nothing lost."""
from __future__ import annotations

import email
import re
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from flask.testing import FlaskClient

from marketing_service.auth.users import add_user
from tests.helpers import Gunicorn, Marketing, count, customer, free_port, wait_for
from tests.in_process import InProcess
from tests.samples import LIKELY_CHURNER, LOYAL_CUSTOMER

BACKENDS = ("sqlite", "postgres")  # each storage test runs on both (integration/conftest.py)


def test_likely_churner_is_scored_and_gets_exactly_one_email(marketing: Marketing) -> None:
    response = marketing.http.post(f"{marketing.url}/api/customers", json=customer(LIKELY_CHURNER, "C-100"), timeout=10)
    assert response.status_code == 200
    [entry] = response.json()["customers"]
    assert entry["status"] == "scored" and entry["churn"] is True and entry["churn_probability"] > 0.5
    assert entry["offer"]["status"] in ("queued", "sent")
    [eml] = wait_for(lambda: marketing.emails(to="c-100@example.com"), what="the offer email")
    message = email.message_from_bytes(eml.read_bytes())
    assert message["To"] == "c-100@example.com"
    assert "Ann Lee" in message.get_payload() and "Dear Ann Lee," in message.get_payload()
    offers = wait_for(lambda: [o for o in marketing.http.get(f"{marketing.url}/api/offers", timeout=5).json()["offers"]
                               if o["customerid"] == "C-100" and o["status"] == "sent"], what="offer marked sent")
    assert len(offers) == 1
    # Marked sent, it is out of the outbox for good: nothing left that a later tick could send again.
    assert count(marketing.db, "SELECT COUNT(*) FROM offers WHERE customerid = 'C-100' AND status <> 'sent'") == 0
    assert len(marketing.emails(to="c-100@example.com")) == 1


def test_loyal_customer_gets_no_offer(marketing: Marketing) -> None:
    response = marketing.http.post(f"{marketing.url}/api/customers", json=customer(LOYAL_CUSTOMER, "L-1"), timeout=10)
    [entry] = response.json()["customers"]
    assert response.status_code == 200 and entry["status"] == "scored"
    assert entry["churn"] is False and entry["offer"] is None
    assert count(marketing.db, "SELECT COUNT(*) FROM offers WHERE customerid = 'L-1'") == 0  # nothing to send
    assert count(marketing.db, "SELECT COUNT(*) FROM decisions WHERE customerid = 'L-1'") == 1


def test_a_list_keeps_request_order_and_mixes_decisions(marketing: Marketing) -> None:
    ids = ["B-1", "B-2", "B-3"]
    body = {"customers": [customer(LIKELY_CHURNER, ids[0]), customer(LOYAL_CUSTOMER, ids[1]),
                          customer(LIKELY_CHURNER, ids[2])]}
    response = marketing.http.post(f"{marketing.url}/api/customers", json=body, timeout=10)
    assert response.status_code == 200
    entries = response.json()["customers"]
    assert [e["customerid"] for e in entries] == ids
    assert [e["churn"] for e in entries] == [True, False, True]
    wait_for(lambda: len(marketing.emails(to={"b-1@example.com", "b-3@example.com"})) == 2, what="two emails")
    assert marketing.emails(to="b-2@example.com") == []
    listed = marketing.http.get(f"{marketing.url}/api/customers?limit=2", timeout=5).json()["customers"]
    assert len(listed) == 2


def test_twenty_concurrent_duplicates_yield_one_offer(marketing: Marketing) -> None:
    record = customer(LIKELY_CHURNER, "DUP-1")

    def post(_: int) -> requests.Response:
        return marketing.http.post(f"{marketing.url}/api/customers", json=record, timeout=30)

    with ThreadPoolExecutor(20) as pool:
        responses = list(pool.map(post, range(20)))
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses if r.status_code != 200]
    offer_ids = {r.json()["customers"][0]["offer"]["id"] for r in responses}
    assert len(offer_ids) == 1
    wait_for(lambda: count(marketing.db, "SELECT COUNT(*) FROM offers WHERE customerid = 'DUP-1' AND status = 'sent'") == 1,
             what="the offer sent")
    assert len(marketing.emails(to="dup-1@example.com")) == 1
    assert count(marketing.db, "SELECT COUNT(*) FROM offers WHERE customerid = 'DUP-1'") == 1
    assert count(marketing.db, "SELECT COUNT(*) FROM customers WHERE customerid = 'DUP-1'") == 1


def test_overlapping_lists_in_opposite_orders_are_all_stored(marketing: Marketing) -> None:
    """Lists sharing customers, sent at once in opposite orders (two marketers importing the same people):
    every one is accepted. PostgreSQL locks each customer's row as it writes it, so two transactions taking
    the same rows in opposite orders would deadlock and one would be refused."""
    people = [customer(LIKELY_CHURNER, f"OV-{i:02d}") for i in range(12)]

    def post(n: int) -> requests.Response:
        return marketing.http.post(f"{marketing.url}/api/customers", timeout=30,
                             json={"customers": people if n % 2 else people[::-1]})

    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(post, range(40)))
    assert [r.status_code for r in responses] == [200] * 40, [r.text for r in responses if r.status_code != 200][:2]
    assert count(marketing.db, "SELECT COUNT(*) FROM customers WHERE customerid LIKE ?", "OV-%") == 12
    assert count(marketing.db, "SELECT COUNT(*) FROM offers WHERE customerid LIKE ?", "OV-%") == 12


def test_pending_while_churn_is_down_then_scored_and_emailed_when_it_returns(model_dir: Path, tmp_path: Path,
                                                                          new_db: Callable[..., str]) -> None:
    port = free_port()
    churn_env = {"MODEL_PATH": str(model_dir / "model.bin")}
    with Marketing(tmp_path, f"http://127.0.0.1:{port}", db=new_db()) as marketing:
        response = marketing.http.post(f"{marketing.url}/api/customers", json=customer(LIKELY_CHURNER, "P-1"), timeout=15)
        assert response.status_code == 202
        assert response.json()["customers"] == [{"customerid": "P-1", "status": "pending", "offer": None}]
        assert count(marketing.db, "SELECT COUNT(*) FROM customers WHERE status = 'pending'") == 1
        ready = requests.get(f"{marketing.url}/readyz", timeout=10).json()
        assert ready["churn"] == "unreachable"
        with Gunicorn("churn_service", churn_env, port=port):
            # No further request: the background loop notices churn is back.
            wait_for(marketing.emails, timeout=40, what="the offer email after churn came back")
            stored = marketing.http.get(f"{marketing.url}/api/customers", timeout=5).json()["customers"]
            assert stored[0]["customerid"] == "P-1" and stored[0]["status"] == "scored" and stored[0]["churn"]
        assert len(marketing.emails()) == 1


@pytest.mark.parametrize("body, fields", [
    ({"customerid": "X-1"}, {"email", "gender", "contract", "tenure"}),
    ({"customers": [customer(LIKELY_CHURNER, "OK-1"), dict(customer(LIKELY_CHURNER, "BAD-1"), contract="weekly",
                                                           email="nope")]}, {"contract", "email"}),
    ({"customers": []}, {"customers"}),
    (["not", "an", "object"], {"customer"}),
])
def test_bad_records_get_422_with_fields_and_nothing_is_stored(marketing_app: InProcess, body: object, fields: set) -> None:
    response = marketing_app.post("/api/customers", json=body)
    assert response.status_code == 422
    details = response.json()["error"]["details"]
    assert fields <= {d["field"] for d in details}
    if isinstance(body, dict) and len(body.get("customers", [])) == 2:
        assert {d["index"] for d in details} == {1}
    assert count(marketing_app.db, "SELECT COUNT(*) FROM customers") == 0
    assert marketing_app.get("/api/customers").json() == {"customers": []}


@pytest.mark.parametrize("limit", ["0", "1001", "ten", "-5"])
def test_bad_limit_is_422(marketing_app: InProcess, limit: str) -> None:
    assert marketing_app.get(f"/api/offers?limit={limit}").status_code == 422


def test_errors_are_json_with_the_contract_shape(marketing_app: InProcess) -> None:
    not_json = marketing_app.post("/api/customers", data="x", headers={"Content-Type": "text/plain"})
    assert not_json.status_code == 415 and not_json.json()["error"]["code"]
    malformed = marketing_app.post("/api/customers", data="{", headers={"Content-Type": "application/json"})
    assert malformed.status_code == 400
    too_big = marketing_app.post("/api/customers", data=b"[" + b"1," * 1_500_000 + b"1]",
                                 headers={"Content-Type": "application/json"})
    assert too_big.status_code == 413
    not_found = marketing_app.get("/nope")
    assert not_found.status_code == 404 and not_found.json()["error"]["code"] == "not_found"


BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def signed_in_browser(service: InProcess) -> FlaskClient:
    """A marketer's browser with cookies of its own (not the token of `service`), signed in through the form."""
    name, password = f"marketer-{uuid.uuid4().hex[:8]}", "a-marketer-password"
    conn = service.app.extensions["marketing"].storage.connect()
    try:
        add_user(conn, name, "marketer", password, "tests")
    finally:
        conn.close()
    browser = service.app.test_client()
    browser.environ_base["HTTP_ACCEPT"] = BROWSER_ACCEPT
    token = re.search(r'name="csrf_token" value="([^"]+)"', browser.get("/login").get_data(as_text=True))
    assert token is not None
    answer = browser.post("/login", data={"username": name, "password": password, "csrf_token": token[1]})
    assert answer.status_code == 303 and answer.headers["Location"] == "/", answer.get_data(as_text=True)
    return browser


def test_a_browser_gets_error_pages_and_api_clients_keep_json(marketing_app: InProcess) -> None:
    page = marketing_app.get("/offers/999", headers={"Accept": BROWSER_ACCEPT})
    assert page.status_code == 404 and page.headers["Content-Type"].startswith("text/html")
    assert "Page not found" in page.text and "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    wrong_method = marketing_app.delete("/customers", headers={"Accept": BROWSER_ACCEPT})
    assert wrong_method.status_code == 405 and "GET" in wrong_method.headers["Allow"]
    assert wrong_method.headers["Content-Type"].startswith("text/html")
    for path in ("/api/offers/999", "/api/nope"):
        api = marketing_app.get(path, headers={"Accept": BROWSER_ACCEPT})
        assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"
    health = marketing_app.post("/healthz", headers={"Accept": BROWSER_ACCEPT})
    assert health.status_code == 405 and health.json()["error"]["code"] == "method_not_allowed"
    no_token = signed_in_browser(marketing_app).post("/", data={"customerid": "HTML-1"})  # no csrf_token
    assert no_token.status_code == 400 and 'value="HTML-1"' in no_token.get_data(as_text=True)
    assert marketing_app.get("/api/customers").json() == {"customers": []}


def test_marketing_openapi_document_is_valid(marketing_app: InProcess) -> None:
    from openapi_spec_validator import validate

    document = marketing_app.get("/openapi.json").json()
    validate(document)
    # Every JSON API route the service has, the campaigns API included (DESIGN §8), and the health routes.
    api = {"/api/customers", "/api/offers", "/api/campaigns", "/api/campaigns/{campaign_id}",
           "/api/campaigns/{campaign_id}/results.csv", "/api/campaigns/{campaign_id}/rejects.csv",
           "/api/campaigns/{campaign_id}/outcomes", "/api/campaigns/{campaign_id}/resume", "/api/mail-events",
           "/api/campaigns/{campaign_id}/report", "/api/campaigns/plan",
           "/api/outcomes", "/api/model-quality", "/api/outcomes/training.csv"}
    assert set(document["paths"]) == api | {"/healthz", "/readyz", "/metrics"}
    assert set(document["paths"]["/api/campaigns"]["post"]["requestBody"]["content"]) == {
        "multipart/form-data", "application/json"}
