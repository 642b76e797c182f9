"""`?explain=true` (DESIGN §8) over real gunicorn: each decision's three strongest reasons, checked against
the log-odds contributions computed plainly with the pickled model, and bad flags refused clearly."""
from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import requests

from feature_contract import parse_record
from tests.helpers import Gunicorn
from tests.samples import LIKELY_CHURNER, LOYAL_CUSTOMER, ZOOMCAMP_CUSTOMER


def plain_contributions(model_dir: Path, record: dict) -> dict[str, float]:
    """Σ over a field's one-hot columns of coef · (x − training mean), the means taken from model.json."""
    dv, model = pickle.loads((model_dir / "model.bin").read_bytes())
    stats = json.loads((model_dir / "model.json").read_text())["feature_stats"]
    x = dv.transform([parse_record(record)])[0]
    means = []
    for name in dv.feature_names_:
        field, _, value = name.partition("=")
        if value:
            means.append(stats[field]["frequencies"].get(value, 0.0))
        else:
            means.append(stats[field]["mean"] if "mean" in stats[field] else stats[field]["frequencies"]["1"])
    per_column = model.coef_[0] * (x - np.array(means))
    totals: dict[str, float] = {}
    for name, value in zip(dv.feature_names_, per_column, strict=True):
        field = name.partition("=")[0]
        totals[field] = totals.get(field, 0.0) + float(value)
    return totals


@pytest.mark.parametrize("record", [LIKELY_CHURNER, ZOOMCAMP_CUSTOMER, LOYAL_CUSTOMER], ids=["churner", "zoomcamp", "loyal"])
def test_reasons_are_the_three_largest_positive_contributions(churn: Gunicorn, model_dir: Path, record: dict) -> None:
    answer = requests.post(f"{churn.url}/predict?explain=true", json=record, timeout=5).json()
    expected = sorted(((v, f) for f, v in plain_contributions(model_dir, record).items() if v > 0), reverse=True)[:3]
    assert [r["feature"] for r in answer["reasons"]] == [f for _, f in expected]
    for reason, (value, field) in zip(answer["reasons"], expected, strict=True):
        assert reason["contribution"] == pytest.approx(value, abs=1e-6)
        assert reason["value"] == parse_record(record)[field]


def test_a_likely_churner_is_explained_by_contract_and_the_batch_agrees(churn: Gunicorn) -> None:
    single = requests.post(f"{churn.url}/predict?explain=1", json=LIKELY_CHURNER, timeout=5).json()
    assert "contract" in {r["feature"] for r in single["reasons"]}
    batch = requests.post(f"{churn.url}/predict/batch?explain=true",
                          json={"customers": [LIKELY_CHURNER, LOYAL_CUSTOMER]}, timeout=5).json()
    assert batch["predictions"][0]["reasons"] == single["reasons"]
    plain = requests.post(f"{churn.url}/predict", json=LIKELY_CHURNER, timeout=5).json()
    assert "reasons" not in plain


def test_an_unclear_explain_flag_is_a_clear_422(churn: Gunicorn) -> None:
    response = requests.post(f"{churn.url}/predict?explain=maybe", json=LIKELY_CHURNER, timeout=5)
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "explain"
