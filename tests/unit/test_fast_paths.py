"""The fast paths (plain-WSGI `/predict`, one-pass batches) answer exactly what the full path answers.

Every record goes to the service twice: as an API client sends it (canonical: the fast paths) and in the CSV's
spelling (`Month-to-month`, string numbers, `customerID`: the full path). A user must get the same answer,
to the last bit, whichever way they spell a customer, and the metrics must count both alike. The one field
that must differ is `prediction_id` (DESIGN §13): each scoring gets its own, so it is compared apart.
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from churn_service import create_app
from churn_service.config import ChurnConfig
from feature_contract import FEATURES, parse_record
from harness import DATA


@pytest.fixture(scope="module")
def client(model_dir: Path) -> FlaskClient:
    return create_app(ChurnConfig(model_path=model_dir / "model.bin", max_batch=1000)).test_client()


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    with open(DATA, newline="") as f:
        return list(csv.DictReader(f))


def without_ids(predictions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The answers less their `prediction_id`, having checked that each has one of its own."""
    ids = [p["prediction_id"] for p in predictions]
    assert len(set(ids)) == len(ids) and all(len(i) == 32 for i in ids)
    return [{k: v for k, v in p.items() if k != "prediction_id"} for p in predictions]


def canonical(row: dict[str, str]) -> dict[str, Any]:
    record = parse_record(row)
    return {"customerid": row["customerID"], **{f: record[f] for f in FEATURES}}


def test_a_batch_scores_the_same_in_either_spelling(client: FlaskClient, rows: list[dict[str, str]]) -> None:
    for start in range(0, len(rows), 1000):
        chunk = rows[start:start + 1000]
        fast = client.post("/predict/batch", json={"customers": [canonical(r) for r in chunk]})
        full = client.post("/predict/batch", json={"customers": [{k: v for k, v in r.items() if k != "Churn"}
                                                                 for r in chunk]})
        assert fast.status_code == full.status_code == 200
        assert fast.json["model_version"] == full.json["model_version"] and list(fast.json) == list(full.json)
        both = without_ids(fast.json["predictions"] + full.json["predictions"])  # no id shared between the two
        assert both[:len(chunk)] == both[len(chunk):], f"rows {start}..{start + len(chunk)} differ"


@pytest.mark.parametrize("query", ["", "?explain=true"])
def test_one_customer_scores_the_same_in_either_spelling(client: FlaskClient, rows: list[dict[str, str]],
                                                         query: str) -> None:
    for row in rows[:300]:
        fast = client.post(f"/predict{query}", json=canonical(row)).json
        full = client.post(f"/predict{query}", json={k: v for k, v in row.items() if k != "Churn"}).json
        assert without_ids([fast]) == without_ids([full]) and fast["customerid"] == row["customerID"]
        assert fast["prediction_id"] != full["prediction_id"]
        assert list(fast) == list(full)  # the same keys in the same order
        assert ("reasons" in fast) == bool(query) and len(fast.get("reasons", [])) <= 3


@pytest.mark.parametrize("change", [
    {"tenure": "12"}, {"tenure": 12.5}, {"contract": "One year"}, {"seniorcitizen": True}, {"gender": ["male"]},
    {"monthlycharges": float("nan")}, {"customerid": ""}, {"customerid": 7}, {"extra": 1},
])
def test_a_batch_with_one_odd_record_gets_the_full_paths_answer(client: FlaskClient, rows: list[dict[str, str]],
                                                                   change: dict[str, Any]) -> None:
    """One record in another form sends the whole batch down the full path: the odd one is read (or refused,
    by index) the way the contract says, and the others score as before."""
    customers = [canonical(r) for r in rows[:5]]
    plain = without_ids(client.post("/predict/batch", json={"customers": customers}).json["predictions"])
    customers[3] = {**customers[3], **change}
    answer = client.post("/predict/batch", json={"customers": customers})
    if answer.status_code == 200:
        odd = without_ids(answer.json["predictions"])
        assert [p for i, p in enumerate(odd) if i != 3] == plain[:3] + plain[4:]
    else:
        assert answer.status_code == 422 and {d["index"] for d in answer.json["error"]["details"]} == {3}


def test_fast_answers_are_counted_like_full_ones(client: FlaskClient, rows: list[dict[str, str]]) -> None:
    def predicted() -> float:
        text = client.get("/metrics").get_data(as_text=True)
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith('http_requests_total{method="POST",route="/predict",status="200"}'))
    before = predicted()
    for row in rows[:10]:
        client.post("/predict", json=canonical(row))
        client.post("/predict", json={k: v for k, v in row.items() if k != "Churn"})
    assert predicted() - before == 20
