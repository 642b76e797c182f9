"""POST /api/customers in plain WSGI (web/fast_submit.py): what it answers, it answers as the Flask route does
(status, body, headers, metrics), and whatever it does not take, the app answers as before."""
from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from bench.sample import CUSTOMER
from marketing_service import create_app
from marketing_service.web.fast_submit import FastSubmit
from tests.in_process import admin_token, config_for
from tests.stub_churn import StubChurn, scored

LIKELY = {**CUSTOMER, "email": "ann@example.com", "name": "Ann"}


@pytest.fixture
def churn() -> Iterator[StubChurn]:
    with StubChurn(scored(0.8, "v1")) as stub:
        yield stub


def app_in(folder: Path, churn_url: str, **extra: Any) -> Flask:
    folder.mkdir()
    return create_app(config_for(folder, churn_url, **extra))


def without_fast_path(app: Flask) -> Flask:
    assert isinstance(app.wsgi_app, FastSubmit)
    app.wsgi_app = app.wsgi_app.inner  # type: ignore[method-assign]
    return app


def stored(app: Flask) -> int:
    with sqlite3.connect(app.extensions["marketing"].config.db_path) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM customers").fetchone()[0])


def counted(app: Flask, status: str) -> float:
    text = app.test_client().get("/metrics").get_data(as_text=True)
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith(f'http_requests_total{{method="POST",route="/api/customers",status="{status}"}}'))


@pytest.mark.parametrize("body", [{**LIKELY, "customerid": "c-1"},
                                  {"customers": [{**LIKELY, "customerid": "c-1"}, {**LIKELY, "customerid": "c-2"}]}])
def test_an_accepted_submission_is_answered_as_the_flask_route_answers_it(tmp_path: Path, churn: StubChurn,
                                                                          body: dict[str, Any]) -> None:
    fast, full = app_in(tmp_path / "fast", churn.url), without_fast_path(app_in(tmp_path / "full", churn.url))
    answers = []
    for app in (fast, full):
        headers = {"Authorization": f"Bearer {admin_token(app, 'marketer')}"}
        answers.append(app.test_client().post("/api/customers", json=body, headers=headers))
        assert stored(app) == len(body.get("customers", [body]))
        assert counted(app, "200") == 1
    assert answers[0].status_code == answers[1].status_code == 200
    assert answers[0].get_data() == answers[1].get_data()
    assert sorted(answers[0].headers.items()) == sorted(answers[1].headers.items())
    assert answers[0].get_json()["customers"][0]["offer"] is not None


def test_churn_down_is_a_202_with_the_records_pending(tmp_path: Path) -> None:
    app = app_in(tmp_path / "m", "http://127.0.0.1:9", churn_connect_timeout=0.2)  # nothing listens there
    answer = app.test_client().post("/api/customers", json={**LIKELY, "customerid": "c-1"},
                                    headers={"Authorization": f"Bearer {admin_token(app, 'marketer')}"})
    assert answer.status_code == 202 and answer.get_json()["customers"][0]["status"] == "pending"
    assert stored(app) == 1 and counted(app, "202") == 1


@pytest.mark.parametrize(("role", "token", "body", "status"), [
    ("viewer", "", {**LIKELY, "customerid": "c-1"}, 403),
    ("marketer", "mkt_unknown", {**LIKELY, "customerid": "c-1"}, 401),
    ("marketer", "", {**LIKELY, "customerid": "c-1", "tenure": -1}, 422),
    ("marketer", "", {"customers": []}, 422),
    ("marketer", "", b'{"customerid": ', 400),
])
def test_what_it_does_not_take_gets_the_apps_own_answer(tmp_path: Path, churn: StubChurn, role: str, token: str,
                                                        body: Any, status: int) -> None:
    fast, full = app_in(tmp_path / "fast", churn.url), without_fast_path(app_in(tmp_path / "full", churn.url))
    answers = []
    for app in (fast, full):
        headers = {"Authorization": f"Bearer {token or admin_token(app, role)}", "Content-Type": "application/json"}
        raw = body if isinstance(body, bytes) else None
        answers.append(app.test_client().post("/api/customers", data=raw, json=None if raw else body, headers=headers))
        assert stored(app) == 0
    assert answers[0].status_code == answers[1].status_code == status
    assert answers[0].get_json() == answers[1].get_json()
    assert sorted(answers[0].headers.items()) == sorted(answers[1].headers.items())


def test_a_database_busy_while_storing_is_the_apps_503(tmp_path: Path, churn: StubChurn) -> None:
    app = app_in(tmp_path / "m", churn.url, db_busy_timeout_ms=200)
    headers = {"Authorization": f"Bearer {admin_token(app, 'marketer')}"}
    holder = sqlite3.connect(app.extensions["marketing"].config.db_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer (a sqlite3 shell, say) holds the write lock
    try:
        answer = app.test_client().post("/api/customers", json={**LIKELY, "customerid": "c-1"}, headers=headers)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "1"
    assert answer.get_json()["error"]["code"] == "storage_busy"
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert stored(app) == 0 and counted(app, "503") == 1
