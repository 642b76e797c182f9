"""Defects a close read of marketing found (issue 13), each shown by a test that failed before its fix.

The app runs in process (flaskr style: `create_app(config)` and Flask's test client); churn's side is the
real service where it behaves, and a stand-in for its wire protocol where the test needs a reply the real
churn never gives."""
from __future__ import annotations

import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from marketing_service import create_app
from marketing_service.config import MarketingConfig
from tests.helpers import fetch_all
from tests.in_process import admin_token, config_for
from tests.samples import LIKELY_CHURNER, LOYAL_CUSTOMER
from tests.stub_churn import StubChurn, scored

BACKENDS = ("sqlite", "postgres")  # each storage test runs on both (integration/conftest.py)


@pytest.fixture
def storage_test(new_db: Callable[..., str]) -> str:
    """A fresh database of either back end (the test runs on both), for `app_for` and `row`."""
    return new_db()


@pytest.fixture
def app_for(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Any]:
    # Tests that take `storage_test` run on both back ends; the others keep the SQLite file.
    db = request.getfixturevalue("storage_test") if "storage_test" in request.fixturenames else str(tmp_path / "marketing.db")
    started: list[Flask] = []

    def make(churn_url: str, **extra: Any) -> FlaskClient:
        where = {"db_url": db} if db.startswith("postgresql://") else {"db_path": Path(db)}
        app = create_app(config_for(tmp_path, churn_url, **where, **extra))
        started.append(app)
        client = app.test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {admin_token(app)}"  # on every request it makes
        return client

    yield make
    for app in started:
        app.extensions["marketing"].background.stop()
        app.extensions["marketing"].storage.close()


def submit(client: FlaskClient, base: dict, customerid: str, email: str | None = None) -> Any:
    body = dict(base, customerid=customerid, email=email or f"{customerid.lower()}@example.com", name="Ann")
    return client.post("/api/customers", json=body)


def row(db: str | Path, sql: str, *args: object) -> Any:
    return fetch_all(db, sql, *args)[0]


@pytest.mark.parametrize("limit", ["²", "١٢", "1e3", "-1", "0", "1001", ""])
def test_a_limit_that_is_not_a_plain_number_is_a_422_not_a_500(app_for: Any, limit: str) -> None:
    client = app_for("http://127.0.0.1:9")
    for path in ("/api/customers", "/api/offers"):
        response = client.get(f"{path}?limit={limit}")
        assert response.status_code == 422 and response.json["error"]["code"] == "invalid_limit"


def test_a_record_churn_refuses_is_stored_as_rejected_with_its_reason(app_for: Any, storage_test: str) -> None:
    refusal = {"error": {"code": "invalid_record", "message": "the customer record is invalid",
                         "details": [{"field": "tenure", "message": "must be between 0 and 1200"}]}}
    with StubChurn(lambda path, body: (422, refusal)) as churn:
        response = submit(app_for(churn.url), LIKELY_CHURNER, "R-1")
    assert response.status_code == 200
    [entry] = response.json["customers"]
    assert entry["status"] == "rejected" and "tenure: must be between 0 and 1200" in entry["reason"]
    assert row(storage_test, "SELECT status, last_error FROM customers")[0] == "rejected"


@pytest.mark.parametrize("reply", [
    {"churn": True},                                       # no probability, no version
    {"churn_probability": "high", "churn": True, "model_version": "v"},
    ["not", "an", "object"],
])
def test_a_malformed_answer_from_churn_keeps_the_record_pending(app_for: Any, storage_test: str, reply: Any) -> None:
    with StubChurn(lambda path, body: (200, reply)) as churn:
        response = submit(app_for(churn.url), LIKELY_CHURNER, "M-1")
    assert response.status_code == 202 and response.json["customers"][0]["status"] == "pending"
    assert row(storage_test, "SELECT status FROM customers WHERE customerid = 'M-1'")[0] == "pending"


def test_a_short_batch_answer_keeps_every_record_pending(app_for: Any, storage_test: str) -> None:
    def short(path: str, body: Any) -> tuple[int, Any]:
        return 200, {"predictions": [{"churn_probability": 0.9, "churn": True}], "model_version": "v"}

    with StubChurn(short) as churn:
        client = app_for(churn.url)
        body = {"customers": [dict(LIKELY_CHURNER, customerid=f"S-{i}", email=f"s{i}@example.com") for i in range(3)]}
        response = client.post("/api/customers", json=body)
    assert response.status_code == 202
    assert [c["status"] for c in response.json["customers"]] == ["pending"] * 3
    assert row(storage_test, "SELECT COUNT(*) FROM customers WHERE status = 'pending'")[0] == 3


def test_the_background_loop_survives_a_malformed_answer_and_scores_later(app_for: Any, storage_test: str) -> None:
    replies: dict[str, Any] = {"mode": "down", "broken": 0}

    def reply(path: str, body: Any) -> tuple[int, Any]:
        if replies["mode"] == "down":
            return 503, {"error": "down"}
        if replies["mode"] == "broken":
            replies["broken"] += 1
            return 200, {"predictions": "nope"} if path.endswith("batch") else {"churn": True}
        return scored()(path, body)

    with StubChurn(reply) as churn:
        client = app_for(churn.url, background=True)
        assert submit(client, LIKELY_CHURNER, "B-1").status_code == 202
        replies["mode"] = "broken"
        deadline = time.monotonic() + 20
        while replies["broken"] < 3:  # several passes of the loop meet the broken answer
            assert time.monotonic() < deadline, "the loop stopped asking churn"
            time.sleep(0.05)
        assert client.get("/readyz").json["background"] == "running"
        replies["mode"] = "ok"
        deadline = time.monotonic() + 20
        while row(storage_test, "SELECT status FROM customers")[0] != "scored":
            assert time.monotonic() < deadline, "the loop never scored the pending record"
            time.sleep(0.1)


def test_a_corrected_email_readdresses_the_queued_offer(app_for: Any, storage_test: str) -> None:
    with StubChurn(scored(0.9)) as churn:
        client = app_for(churn.url)  # no background loop: the offer stays queued
        first = submit(client, LIKELY_CHURNER, "E-1", email="typo@exmaple.com").json["customers"][0]
        second = submit(client, LIKELY_CHURNER, "E-1", email="ann@example.com").json["customers"][0]
    assert first["offer"]["id"] == second["offer"]["id"]
    assert row(storage_test, "SELECT to_addr FROM offers")[0] == "ann@example.com"


def test_the_secret_key_file_is_private_from_the_start(tmp_path: Path) -> None:
    import os

    old = os.umask(0)
    try:
        key = config_for(tmp_path, "http://127.0.0.1:9").resolved_secret_key()
    finally:
        os.umask(old)
    path = tmp_path / ".secret_key"
    assert len(key) == 64 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not list(tmp_path.glob(".secret_key.*")), "no world-readable candidate file may be left behind"


@pytest.mark.parametrize(("secure", "expected"), [("1", True), ("", False)])
def test_session_cookie_secure_is_a_setting(tmp_path: Path, secure: str, expected: bool) -> None:
    config = MarketingConfig.from_env({"MARKETING_DB": str(tmp_path / "m.db"), "SESSION_COOKIE_SECURE": secure})
    app = create_app(config.__class__(**{**config.__dict__, "background": False}))
    cookie = app.test_client().get("/login").headers.get("Set-Cookie", "")  # the sign-in form starts a session
    assert ("Secure" in cookie) is expected and "HttpOnly" in cookie


def test_loyal_customer_still_gets_no_offer_in_process(app_for: Any) -> None:
    with StubChurn(scored(0.1)) as churn:
        response = submit(app_for(churn.url), LOYAL_CUSTOMER, "L-9")
    assert response.status_code == 200 and response.json["customers"][0]["offer"] is None
