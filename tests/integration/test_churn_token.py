"""CHURN_API_TOKEN (DESIGN §11) for real: churn under gunicorn with a token refuses /predict*, /model and /drift
to a caller without it (401 JSON, `WWW-Authenticate: Bearer`) on the fast path and the Flask routes alike,
keeps probes, metrics and its OpenAPI document open, and marketing, given the same token, scores through it.
Without the token (the compose default) churn answers everyone: the rest of the suite runs that way."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from marketing_service import create_app
from tests.helpers import Gunicorn, customer
from tests.in_process import InProcess, admin_token, config_for
from tests.samples import LIKELY_CHURNER, ZOOMCAMP_CUSTOMER

TOKEN = "a-test-churn-token-0123456789abcdef"
GUARDED = [("POST", "/predict", ZOOMCAMP_CUSTOMER), ("POST", "/predict?explain=true", ZOOMCAMP_CUSTOMER),
           ("POST", "/predict", {"tenure": "not a number"}), ("POST", "/predict/batch", {"customers": [ZOOMCAMP_CUSTOMER]}),
           ("GET", "/model", None), ("GET", "/drift", None)]


@pytest.fixture(scope="module")
def guarded(model_dir: Path) -> Iterator[Gunicorn]:
    env = {"MODEL_PATH": str(model_dir / "model.bin"), "CHURN_API_TOKEN": TOKEN}
    with Gunicorn("churn_service", env, workers=2) as server:
        yield server


def call(server: Gunicorn, method: str, path: str, body: Any, authorization: str | None) -> requests.Response:
    headers = {"Authorization": authorization} if authorization is not None else {}
    return requests.request(method, server.url + path, json=body, headers=headers, timeout=10)


@pytest.mark.parametrize(("method", "path", "body"), GUARDED, ids=[f"{m} {p}" for m, p, _ in GUARDED])
@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Bearer wrong", f"Bearer {TOKEN}x", TOKEN,
                                           f"Basic {TOKEN}", f"bearer  {TOKEN}", "Bearer \u00e9t\u00e9"])
def test_a_caller_without_the_token_gets_401_json(guarded: Gunicorn, method: str, path: str, body: Any,
                                                   authorization: str | None) -> None:
    response = call(guarded, method, path, body, authorization)
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["error"]["code"] == "unauthorized"


def test_with_the_token_churn_answers_as_without_one(guarded: Gunicorn, churn: Gunicorn) -> None:
    bearer = f"Bearer {TOKEN}"
    for method, path, body in GUARDED:
        expected = call(churn, method, path, body, None)  # the session's churn has no token
        answer = call(guarded, method, path, body, bearer)
        assert answer.status_code == expected.status_code, (path, answer.text)
        if path.startswith("/predict") and answer.status_code == 200:
            assert without_ids(answer.json()) == without_ids(expected.json())


def without_ids(body: dict[str, Any]) -> dict[str, Any]:
    """A churn answer less its prediction ids: every scoring gets its own (DESIGN §13), the rest is the same."""
    if "predictions" in body:
        return {**body, "predictions": [without_ids(p) for p in body["predictions"]]}
    assert len(body.pop("prediction_id")) == 32
    return body


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_probes_and_metrics_stay_open(guarded: Gunicorn, path: str) -> None:
    assert requests.get(guarded.url + path, timeout=10).status_code == 200


def test_the_document_needs_the_token_and_says_which_routes_do(guarded: Gunicorn) -> None:
    assert requests.get(guarded.url + "/openapi.json", timeout=10).status_code == 401
    paths = requests.get(guarded.url + "/openapi.json", timeout=10,
                         headers={"Authorization": f"Bearer {TOKEN}"}).json()["paths"]
    needing = {path for path, item in paths.items() for operation in item.values() if "401" in operation["responses"]}
    assert {"/predict", "/predict/batch", "/model", "/drift"} <= needing
    assert not needing & {"/healthz", "/readyz", "/metrics"}


def test_marketing_with_the_token_scores_and_without_it_keeps_the_customer_pending(guarded: Gunicorn,
                                                                                    tmp_path: Path) -> None:
    """A wrong or missing token is churn refusing marketing, not the customer: the record waits, never rejected."""
    for name, token, status in (("with", TOKEN, "scored"), ("without", "", "pending")):
        app = create_app(config_for(tmp_path / name, guarded.url, churn_api_token=token))
        try:
            service = InProcess(app, token=admin_token(app))
            [entry] = service.post("/api/customers", json=customer(LIKELY_CHURNER, f"TOK-{name}")).json()["customers"]
            assert entry["status"] == status, entry
            model_page = service.get("/model", headers={"Accept": "text/html"}).text
            version = requests.get(guarded.url + "/model", headers={"Authorization": f"Bearer {TOKEN}"},
                                   timeout=10).json()["version"]
            assert (version in model_page) is bool(token)
        finally:
            app.extensions["marketing"].storage.close()


@pytest.mark.parametrize("token", ["REPLACE-ME", "short-but-random-9f3a", "changeme-changeme-changeme-changeme-1234"])
def test_a_guessable_token_stops_churn_at_start_with_one_line(model_dir: Path, token: str) -> None:
    """A token anyone could guess (the overlay's placeholder, a short one) guards nothing: churn refuses it."""
    server = Gunicorn("churn_service", {"MODEL_PATH": str(model_dir / "model.bin"), "CHURN_API_TOKEN": token}, workers=1)
    with pytest.raises(RuntimeError) as stopped:
        server.start()
    output = str(stopped.value)
    assert "exited with" in output and "Traceback" not in output, output
    assert [line for line in output.splitlines() if "CHURN_API_TOKEN" in line and "secrets" in line], output
