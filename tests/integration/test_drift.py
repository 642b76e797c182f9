"""GET /drift against an independent numpy computation, over real gunicorn with 2 workers: the window is the
service's (both workers' records together), training-drawn traffic is quiet, shifted traffic alerts on
exactly the shifted features, and a model change restarts the window."""
from __future__ import annotations

import csv
import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests
from sklearn.feature_extraction import DictVectorizer

from feature_contract import parse_record
from tests.helpers import DATA, Gunicorn, run_train, wait_for

WINDOW = 1000


def training_drawn(n: int, seed: int) -> list[dict[str, str]]:
    with open(DATA, newline="") as f:
        rows = list(csv.DictReader(f))
    picked = random.Random(seed).sample(rows, n)
    return [{k: v for k, v in row.items() if k != "Churn"} for row in picked]


def shifted(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """Every contract month-to-month and tenure tripled."""
    return [{**row, "Contract": "Month-to-month", "tenure": str(3 * int(row["tenure"]))} for row in rows]


def reference_psi(manifest: dict[str, Any], records: list[dict[str, Any]], probabilities: np.ndarray) -> dict[str, float]:
    """PSI written out plainly: shares per bin with np.digitize, floored at 1e-4, Σ (a − e) ln(a / e)."""
    def value(actual: np.ndarray, expected: np.ndarray) -> float:
        a, e = np.maximum(actual, 1e-4), np.maximum(expected, 1e-4)
        return float(np.sum((a - e) * np.log(a / e)))

    result = {}
    for name, stats in manifest["feature_stats"].items():
        column = [r[name] for r in records]
        if "frequencies" in stats:
            categories = list(stats["frequencies"])
            index = np.array([categories.index(str(v)) if str(v) in categories else len(categories) for v in column])
            expected = np.array([*stats["frequencies"].values(), 0.0])
        else:
            index = np.digitize(np.array(column, dtype=float), stats["deciles"], right=True)
            expected = np.array(stats["shares"])
        result[name] = value(np.bincount(index, minlength=len(expected)) / len(column), expected)
    stats = manifest["prediction_stats"]
    index = np.digitize(probabilities, stats["deciles"], right=True)
    result["prediction"] = value(np.bincount(index, minlength=len(stats["shares"])) / len(index), np.array(stats["shares"]))
    return result


def sklearn_probabilities(model_dir: Path, records: list[dict[str, Any]]) -> np.ndarray:
    import pickle

    dv, model = pickle.loads((model_dir / "model.bin").read_bytes())
    assert isinstance(dv, DictVectorizer)
    return model.predict_proba(dv.transform(records))[:, 1]


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("drift") / "models"
    assert run_train("--registry", root, "--folds", "2").returncode == 0
    assert run_train("--registry", root, "--folds", "2", "--C", "0.01", "--promote", "never").returncode == 0
    return root


def post_all(url: str, rows: list[dict[str, str]]) -> None:
    """Singles over fresh connections (so both workers take a share) and batches, each half in the CSV's
    spelling and half canonical, as API clients send it (which takes the service's fast paths)."""
    half = len(rows) // 2
    for index, row in enumerate(rows[:half]):
        body = row if index % 2 else parse_record(row)
        response = requests.post(f"{url}/predict", json=body, timeout=5, headers={"Connection": "close"})
        assert response.status_code == 200, response.text
    for start in range(half, len(rows), 100):
        chunk = rows[start:start + 100]
        customers = chunk if start // 100 % 2 else [parse_record(row) for row in chunk]
        response = requests.post(f"{url}/predict/batch", json={"customers": customers}, timeout=10,
                                 headers={"Connection": "close"})
        assert response.status_code == 200, response.text


def check_against_reference(drift: dict[str, Any], model_dir: Path, rows: list[dict[str, str]]) -> dict[str, float]:
    records = [parse_record(row) for row in rows]
    expected = reference_psi(json.loads((model_dir / "model.json").read_text()), records,
                             sklearn_probabilities(model_dir, records))
    served = {name: v["psi"] for name, v in drift["features"].items()} | {"prediction": drift["prediction"]["psi"]}
    assert served.keys() == expected.keys()
    for name, value in expected.items():
        assert served[name] == pytest.approx(value, abs=1e-9), name
    return served


def test_drift_over_both_workers_matches_numpy_and_restarts_with_the_model(registry: Path) -> None:
    current = (registry / "CURRENT").read_text().strip()
    [other] = [p.name for p in registry.iterdir() if p.is_dir() and p.name not in (current,) and not p.name.startswith(".")]
    env = {"MODEL_REGISTRY": str(registry), "MODEL_POLL_SECONDS": "0.5", "DRIFT_WINDOW": str(WINDOW),
           "DRIFT_MIN_RECORDS": "500"}
    with Gunicorn("churn_service", env, workers=2) as server:
        empty = requests.get(f"{server.url}/drift", timeout=5).json()
        assert (empty["status"], empty["window"], empty["model_version"]) == ("insufficient_data", 0, current)

        quiet = training_drawn(WINDOW, seed=7)
        post_all(server.url, quiet)
        drift = requests.get(f"{server.url}/drift", timeout=5).json()
        assert drift["window"] == WINDOW, "the window must hold every worker's records"
        served = check_against_reference(drift, registry / current, quiet)
        assert drift["status"] == "ok" and max(served.values()) < 0.1, served

        loud = shifted(training_drawn(WINDOW, seed=8))
        post_all(server.url, loud)
        drift = requests.get(f"{server.url}/drift", timeout=5).json()
        served = check_against_reference(drift, registry / current, loud)  # the window now holds only these
        alerts = {name for name, v in drift["features"].items() if v["status"] == "alert"}
        assert alerts == {"contract", "tenure"} and drift["status"] == "alert"
        assert drift["prediction"]["status"] == "alert"  # month-to-month moves the probabilities a lot
        assert all(v["status"] == "ok" for name, v in drift["features"].items() if name not in alerts)
        metrics = requests.get(f"{server.url}/metrics", timeout=5).text
        assert f'churn_feature_psi{{feature="tenure"}} {served["tenure"]}' in metrics
        assert "churn_prediction_psi " in metrics and f"churn_estimated_auc {drift['estimated_auc']}" in metrics

        assert run_train("promote", other, "--registry", registry).returncode == 0
        wait_for(lambda: all(requests.get(f"{server.url}/drift", timeout=5, headers={"Connection": "close"})
                             .json()["model_version"] == other for _ in range(12)), timeout=10,
                 what="the new model in both workers")  # fresh connections, each to either worker
        post_all(server.url, quiet[:10])
        restarted = requests.get(f"{server.url}/drift", timeout=5).json()
        assert restarted["model_version"] == other and restarted["window"] <= 10
        assert restarted["status"] == "insufficient_data" and restarted["estimated_auc"] is None
