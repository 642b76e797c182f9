"""churn's app factory in process (flaskr style): `create_app(ChurnConfig(...))` and Flask's test client,
for what needs no real gunicorn. Multi-worker behaviour stays in tests/integration."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from werkzeug.test import EnvironBuilder, run_wsgi_app

from churn_service import create_app
from churn_service.config import ChurnConfig
from feature_contract import FEATURES
from tests.samples import LIKELY_CHURNER


@pytest.fixture(scope="module")
def client(model_dir: Path) -> FlaskClient:
    return create_app(ChurnConfig(model_path=model_dir / "model.bin", max_batch=5)).test_client()


def test_csv_spelled_customer_id_is_echoed(client: FlaskClient) -> None:
    answer = client.post("/predict", json={**LIKELY_CHURNER, "customerID": "7590-VHVEG"}).json
    assert answer["customerid"] == "7590-VHVEG" and 0.5 < answer["churn_probability"] < 1


def test_an_over_long_csv_spelled_customer_id_is_refused(client: FlaskClient) -> None:
    response = client.post("/predict", json={**LIKELY_CHURNER, "customerID": "x" * 65})
    assert response.status_code == 422
    assert [d["field"] for d in response.json["error"]["details"]] == ["customerid"]


@pytest.mark.parametrize(("body", "content_type", "status", "code"), [
    (b"{", "application/json", 400, "malformed_json"),
    (b"{}", "text/plain", 415, "unsupported_media_type"),
    (b"[]", "application/json", 422, "invalid_record"),
])
def test_bad_requests_get_the_json_error_shape(client: FlaskClient, body: bytes, content_type: str, status: int,
                                               code: str) -> None:
    response = client.post("/predict", data=body, content_type=content_type)
    assert response.status_code == status and response.json["error"]["code"] == code


def test_a_bad_record_in_a_batch_is_named_by_index_and_a_big_batch_is_413(client: FlaskClient) -> None:
    bad = client.post("/predict/batch", json={"customers": [LIKELY_CHURNER, {**LIKELY_CHURNER, "tenure": -1}]})
    assert bad.status_code == 422 and bad.json["error"]["details"][0] == {
        "index": 1, "field": "tenure", "message": "must be between 0 and 1200"}
    assert client.post("/predict/batch", json={"customers": [LIKELY_CHURNER] * 6}).status_code == 413


def test_the_model_route_publishes_the_contracts_schema(client: FlaskClient) -> None:
    manifest = client.get("/model").json
    assert set(manifest["features"]) == set(FEATURES)
    assert manifest["features"]["contract"]["allowed"] == ["month-to-month", "one_year", "two_year"]


@pytest.mark.parametrize("padding_mib", [1, 12])
def test_a_body_without_a_length_is_read_whole_or_refused_as_too_large(client: FlaskClient, padding_mib: int) -> None:
    # A chunked body (no Content-Length to refuse early): a record padded past MAX_BODY_MB (8) with JSON
    # whitespace after it. Cut silently at the limit, the 12 MiB one was a 200 (its first 8 MiB parse).
    padded = json.dumps(LIKELY_CHURNER).encode() + b" " * (padding_mib * 1024 * 1024)
    environ = EnvironBuilder(path="/predict", method="POST", content_type="application/json",
                             input_stream=io.BytesIO(padded)).get_environ()
    del environ["CONTENT_LENGTH"]  # as a server passes a chunked body: no length, the input ends where it ends
    environ["wsgi.input_terminated"] = True
    chunks, status, _ = run_wsgi_app(client.application, environ, buffered=True)
    answer = json.loads(b"".join(chunks))
    if padding_mib == 1:
        assert status.startswith("200") and 0 < answer["churn_probability"] < 1, answer
    else:
        assert status.startswith("413") and answer["error"]["code"], answer
