"""DESIGN §13 on churn's side, over real gunicorn with 2 workers: every answer carries a `prediction_id` of its
own, whichever path and worker made it; and `GET /drift`'s `estimated_auc`, from the window's probabilities
alone, lands within 0.03 of the AUC the true Churn labels give on the model's held-out Telco rows."""
from __future__ import annotations

import csv
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from churn_service.drift.estimate import estimated_auc
from feature_contract import parse_record
from tests.helpers import DATA, Gunicorn, worker_pids

log = logging.getLogger(__name__)
CLOSE = {"Connection": "close"}  # a fresh connection per single request, so either worker may take it
HEX = re.compile(r"^[0-9a-f]{32}$")


@pytest.fixture(scope="module")
def held_out() -> tuple[list[dict[str, str]], np.ndarray]:
    """The rows `python -m train` held out with its defaults (a 20% split, seed 1), without their Churn column;
    and their labels. The first test checks that the model's own test AUC comes out of exactly these rows."""
    with open(DATA, newline="") as f:
        rows = list(csv.DictReader(f))
    _, test = train_test_split(np.arange(len(rows)), test_size=0.2, random_state=1)
    picked = [rows[i] for i in test]
    labels = np.array([row["Churn"] == "Yes" for row in picked], dtype=int)
    return [{k: v for k, v in row.items() if k != "Churn"} for row in picked], labels


@pytest.fixture(scope="module")
def server(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Gunicorn, Path]]:
    """A churn of this module's own, so its drift window holds only what these tests send."""
    drift_dir = tmp_path_factory.mktemp("drift-window")
    env = {"MODEL_PATH": str(model_dir / "model.bin"), "DRIFT_DIR": str(drift_dir), "DRIFT_WINDOW": "5000",
           "DRIFT_MIN_RECORDS": "500"}
    with Gunicorn("churn_service", env, workers=2) as churn:
        yield churn, drift_dir


def score_every_way(url: str, rows: list[dict[str, str]]) -> list[dict[str, Any]]:
    """Each row scored once, by one of the ways an answer is made: single on the fast path (plain and
    `?explain=true`), single on the Flask path (CSV spelling), batches through the column kernel (canonical)
    and record by record (CSV spelling, and with `?explain=true`). The answers, in the rows' order."""
    def canonical(row: dict[str, str]) -> dict[str, Any]:
        return {"customerid": row["customerID"], **parse_record(row)}

    answers: list[dict[str, Any]] = []
    for index, row in enumerate(rows[:400]):
        query = "?explain=true" if 200 <= index < 300 or (index >= 300 and index % 2) else ""
        body = canonical(row) if index < 300 else row
        response = requests.post(f"{url}/predict{query}", json=body, timeout=5, headers=CLOSE)
        assert response.status_code == 200, response.text
        answers.append(response.json())
        assert ("reasons" in answers[-1]) == bool(query)
    for start in range(400, len(rows), 250):
        chunk = rows[start:start + 250]
        query = "?explain=true" if start >= 1150 else ""
        customers = [canonical(r) for r in chunk] if start < 900 else chunk
        response = requests.post(f"{url}/predict/batch{query}", json={"customers": customers}, timeout=30,
                                 headers=CLOSE)
        assert response.status_code == 200, response.text
        answers.extend(response.json()["predictions"])
    assert [a["customerid"] for a in answers] == [r["customerID"] for r in rows]
    return answers


def test_every_answer_has_its_own_id_and_the_estimate_lands_near_the_realized_auc(
        server: tuple[Gunicorn, Path], held_out: tuple[list[dict[str, str]], np.ndarray], model_dir: Path) -> None:
    churn, drift_dir = server
    rows, labels = held_out
    before = requests.get(f"{churn.url}/drift", timeout=5).json()
    assert before["window"] == 0 and before["estimated_auc"] is None
    assert "churn_estimated_auc" not in requests.get(f"{churn.url}/metrics", timeout=5).text

    answers = score_every_way(churn.url, rows)
    ids = [a["prediction_id"] for a in answers]
    assert all(HEX.match(i) for i in ids) and len(set(ids)) == len(rows) == 1409
    version = requests.get(f"{churn.url}/model", timeout=5).json()["version"]
    writers = {int(p.stem.rsplit("-", 1)[1]) for p in drift_dir.glob(f"{version}-*.ring")}
    assert churn.proc is not None and writers == set(worker_pids(churn.proc.pid)) and len(writers) == 2, \
        "both workers must have scored some of these rows"

    probabilities = np.array([a["churn_probability"] for a in answers])
    realized = float(roc_auc_score(labels, probabilities))
    manifest = json.loads((model_dir / "model.json").read_text())
    assert realized == pytest.approx(manifest["metrics"]["test_auc"], abs=1e-6), "not the model's held-out rows"

    drift = requests.get(f"{churn.url}/drift", timeout=5).json()
    assert drift["window"] == len(rows)
    estimate = drift["estimated_auc"]
    assert estimate == pytest.approx(estimated_auc(probabilities, 500), abs=1e-12), "the window's probabilities"
    log.info("held-out Telco rows: estimated AUC %.4f, realized AUC %.4f, difference %+.4f (n=%d)",
             estimate, realized, estimate - realized, len(rows))
    assert abs(estimate - realized) <= 0.03, (estimate, realized)
    metrics = requests.get(f"{churn.url}/metrics", timeout=5).text
    gauge = re.search(r"^churn_estimated_auc (\S+)$", metrics, re.MULTILINE)
    assert gauge is not None and float(gauge.group(1)) == pytest.approx(estimate, abs=1e-12)


def test_scoring_the_same_customer_again_gets_a_new_id(server: tuple[Gunicorn, Path],
                                                       held_out: tuple[list[dict[str, str]], np.ndarray]) -> None:
    churn, _ = server
    row = held_out[0][0]
    singles = [requests.post(f"{churn.url}/predict", json=row, timeout=5, headers=CLOSE).json() for _ in range(20)]
    batch = requests.post(f"{churn.url}/predict/batch", json={"customers": [row] * 50}, timeout=5).json()
    answers = singles + batch["predictions"]
    # The same score on every path, up to the last bit: one record and the batch kernel add in different orders.
    first = answers[0]["churn_probability"]
    assert all(a["churn_probability"] == pytest.approx(first, abs=1e-12) for a in answers)
    assert len({a["churn"] for a in answers}) == 1
    assert len({a["prediction_id"] for a in answers}) == len(answers) == 70
