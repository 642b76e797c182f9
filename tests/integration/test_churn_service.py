"""The churn service over HTTP under real gunicorn: contract, parity, errors, metrics, OpenAPI."""
from __future__ import annotations

import csv
import pickle
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from openapi_spec_validator import validate

from feature_contract import model_features, parse_record
from tests.helpers import DATA, Gunicorn
from tests.samples import LIKELY_CHURNER, LOYAL_CUSTOMER, ZOOMCAMP_CUSTOMER


def assert_error(response: requests.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert isinstance(error["code"], str) and error["message"] and isinstance(error["details"], list)
    return error


def test_zoomcamp_customer_scores_as_in_the_course(churn: Gunicorn, model_dir: Path) -> None:
    response = requests.post(f"{churn.url}/predict", json=ZOOMCAMP_CUSTOMER, timeout=5)
    assert response.status_code == 200
    body = response.json()
    with open(model_dir / "model.bin", "rb") as f:
        dv, model = pickle.load(f)
    expected = model.predict_proba(dv.transform([ZOOMCAMP_CUSTOMER]))[0, 1]
    assert body["churn_probability"] == pytest.approx(expected, abs=1e-9)
    assert body["churn"] is True and 0.6 < body["churn_probability"] < 0.66
    assert body["model_version"] == (model_dir / "model.json").read_text().split('"version": "')[1][:12]


def test_csv_spellings_and_customerid_are_accepted_and_echoed(churn: Gunicorn) -> None:
    raw = {k.upper(): v for k, v in ZOOMCAMP_CUSTOMER.items()} | {
        "CONTRACT": "Month-to-month", "PAYMENTMETHOD": "Electronic check", "customerID": "7590-VHVEG"}
    body = requests.post(f"{churn.url}/predict", json=raw, timeout=5).json()
    plain = requests.post(f"{churn.url}/predict", json=ZOOMCAMP_CUSTOMER, timeout=5).json()
    assert body["customerid"] == "7590-VHVEG"
    assert body["churn_probability"] == plain["churn_probability"]


def test_loyal_customer_is_not_a_churner(churn: Gunicorn) -> None:
    loyal = requests.post(f"{churn.url}/predict", json=LOYAL_CUSTOMER, timeout=5).json()
    churner = requests.post(f"{churn.url}/predict", json=LIKELY_CHURNER, timeout=5).json()
    assert loyal["churn"] is False and loyal["churn_probability"] < 0.1
    assert churner["churn"] is True and churner["churn_probability"] > 0.7


def test_batch_matches_predict_proba_on_every_row_of_the_data_set(churn: Gunicorn, model_dir: Path) -> None:
    with open(DATA, newline="") as f:
        rows = list(csv.DictReader(f))
    response = requests.post(f"{churn.url}/predict/batch", json={"customers": rows}, timeout=60)
    assert response.status_code == 200
    predictions = response.json()["predictions"]
    with open(model_dir / "model.bin", "rb") as f:
        dv, model = pickle.load(f)
    expected = model.predict_proba(dv.transform([model_features(parse_record(r)) for r in rows]))[:, 1]
    assert len(predictions) == len(rows) == 7043
    assert [p["customerid"] for p in predictions] == [r["customerID"] for r in rows]
    worst = max(abs(p["churn_probability"] - e) for p, e in zip(predictions, expected, strict=True))
    assert worst < 1e-9
    assert all(p["churn"] == (e >= 0.5) for p, e in zip(predictions, expected, strict=True))


def test_one_bad_record_rejects_the_whole_batch_naming_index_and_field(churn: Gunicorn) -> None:
    customers = [ZOOMCAMP_CUSTOMER, dict(ZOOMCAMP_CUSTOMER, contract="weekly"), {**ZOOMCAMP_CUSTOMER, "tenure": None}]
    error = assert_error(requests.post(f"{churn.url}/predict/batch", json={"customers": customers}, timeout=5), 422)
    assert {(d["index"], d["field"]) for d in error["details"]} == {(1, "contract"), (2, "tenure")}
    assert "nothing was scored" in error["message"]


@pytest.mark.parametrize("body", [{}, {"customers": []}, {"customers": "x"}, [ZOOMCAMP_CUSTOMER]])
def test_batch_needs_a_customers_array(churn: Gunicorn, body: object) -> None:
    error = assert_error(requests.post(f"{churn.url}/predict/batch", json=body, timeout=5), 422)
    assert error["details"][0]["field"] == "customers"


def test_invalid_record_lists_each_bad_field(churn: Gunicorn) -> None:
    bad = dict(ZOOMCAMP_CUSTOMER, gender="robot", tenure=-3)
    del bad["contract"]
    error = assert_error(requests.post(f"{churn.url}/predict", json=bad, timeout=5), 422)
    assert {d["field"] for d in error["details"]} == {"gender", "tenure", "contract"}


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_422_not_500(churn: Gunicorn, literal: str) -> None:
    import json
    body = json.dumps(dict(ZOOMCAMP_CUSTOMER, monthlycharges=0)).replace('"monthlycharges": 0', f'"monthlycharges": {literal}')
    response = requests.post(f"{churn.url}/predict", data=body, headers={"Content-Type": "application/json"}, timeout=5)
    error = assert_error(response, 422)
    assert error["details"] == [{"field": "monthlycharges", "message": "must be a finite number"}]


@pytest.mark.parametrize("body", ['{"gender": ', "[" * 100_000, "\xff\xfe"])
def test_malformed_json_is_400(churn: Gunicorn, body: str) -> None:
    response = requests.post(f"{churn.url}/predict", data=body.encode("latin-1"),
                             headers={"Content-Type": "application/json"}, timeout=5)
    assert assert_error(response, 400)["code"] == "malformed_json"


def test_not_json_is_415(churn: Gunicorn) -> None:
    response = requests.post(f"{churn.url}/predict", data="gender=female", timeout=5,
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_error(response, 415)


def test_unknown_path_is_404_and_wrong_method_is_405(churn: Gunicorn) -> None:
    assert_error(requests.get(f"{churn.url}/no-such-thing", timeout=5), 404)
    response = requests.get(f"{churn.url}/predict", timeout=5)
    assert_error(response, 405)
    assert "POST" in response.headers["Allow"]


def test_body_over_the_limit_is_413(churn: Gunicorn) -> None:
    huge = b'{"customers": [' + b'"x",' * (3 * 1024 * 1024) + b'"x"]}'  # 12 MB > MAX_BODY_MB 8
    response = requests.post(f"{churn.url}/predict/batch", data=huge, timeout=30,
                             headers={"Content-Type": "application/json"})
    assert_error(response, 413)


def test_batch_over_max_batch_is_413(model_dir: Path) -> None:
    env = {"MODEL_PATH": str(model_dir / "model.bin"), "MAX_BATCH": "3"}
    with Gunicorn("churn_service", env) as server:
        ok = requests.post(f"{server.url}/predict/batch", json={"customers": [ZOOMCAMP_CUSTOMER] * 3}, timeout=5)
        assert ok.status_code == 200 and len(ok.json()["predictions"]) == 3
        too_many = requests.post(f"{server.url}/predict/batch", json={"customers": [ZOOMCAMP_CUSTOMER] * 4}, timeout=5)
        assert assert_error(too_many, 413)["code"] == "batch_too_large"


def test_health_readiness_and_model_info(churn: Gunicorn, model_dir: Path) -> None:
    assert requests.get(f"{churn.url}/healthz", timeout=5).json() == {"status": "ok"}
    assert requests.get(f"{churn.url}/readyz", timeout=5).status_code == 200
    info = requests.get(f"{churn.url}/model", timeout=5).json()
    for key in ("version", "sha256", "created_at", "sklearn_version", "threshold", "metrics", "features"):
        assert key in info
    assert info["warnings"] == []
    assert info["features"]["contract"]["allowed"] == ["month-to-month", "one_year", "two_year"]


def test_openapi_document_is_valid_and_covers_every_route(churn: Gunicorn) -> None:
    document = requests.get(f"{churn.url}/openapi.json", timeout=5).json()
    validate(document)
    assert set(document["paths"]) == {"/predict", "/predict/batch", "/healthz", "/readyz", "/model", "/drift", "/shadow",
                                      "/metrics", "/openapi.json"}


def metric_value(text: str, prefix: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(prefix))


def test_metrics_count_requests_served_by_two_workers(model_dir: Path, tmp_path: Path) -> None:
    env = {"MODEL_PATH": str(model_dir / "model.bin"), "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    with Gunicorn("churn_service", env, workers=2) as server:
        def post(_: int) -> int:
            # A fresh connection per request lets the kernel hand it to either worker.
            return requests.post(f"{server.url}/predict", json=LIKELY_CHURNER, timeout=10,
                                 headers={"Connection": "close"}).status_code

        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(post, range(200)))
        assert statuses == [200] * 200
        # gunicorn keeps its samples in a directory of its own inside the one it was given.
        writers = {p.name.rsplit("_", 1)[1] for p in tmp_path.glob("*/counter_*.db")}
        assert len(writers) >= 2, "both workers should have served requests"
        text = requests.get(f"{server.url}/metrics", timeout=5).text
        assert metric_value(text, 'http_requests_total{method="POST",route="/predict",status="200"}') == 200
        assert metric_value(text, 'churn_predictions_total{outcome="churn"}') == 200
        assert metric_value(text, 'churn_probability_count') == 200
        assert metric_value(text, 'http_request_duration_seconds_count{method="POST",route="/predict"}') == 200
        batch = requests.post(f"{server.url}/predict/batch", timeout=10,
                              json={"customers": [LIKELY_CHURNER, LOYAL_CUSTOMER] * 50}).json()["predictions"]
        text = requests.get(f"{server.url}/metrics", timeout=5).text
        assert metric_value(text, 'churn_predictions_total{outcome="churn"}') == 250
        assert metric_value(text, 'churn_predictions_total{outcome="no_churn"}') == 50
        assert metric_value(text, 'churn_probability_count') == 300
        assert metric_value(text, 'churn_probability_bucket{le="0.1"}') == 50  # the loyal half of the batch
        expected_sum = 200 * batch[0]["churn_probability"] + sum(p["churn_probability"] for p in batch)
        assert metric_value(text, 'churn_probability_sum') == pytest.approx(expected_sum)
