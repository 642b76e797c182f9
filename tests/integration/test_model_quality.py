"""GET /api/model-quality, its gauges and the Model page (DESIGN §13) on both back ends: the numbers of a
campaign's labelled customers equal scikit-learn's on the same rows, untreated only, each weighted
1 / (1 − propensity), and the page shows them beside the training AUC and churn's estimate before labels."""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from sklearn.metrics import brier_score_loss, roc_auc_score

from tests.helpers import Gunicorn
from tests.integration.campaign_files import telco_csv
from tests.integration.outcome_service import Service, outcome_service

BACKENDS = ("sqlite", "postgres")


@pytest.fixture
def service(churn: Gunicorn, new_db: Callable[..., str], tmp_path: Path) -> Iterator[Service]:
    yield from outcome_service(churn, new_db, tmp_path)


def labelled_campaign(service: Service) -> list[dict[str, str]]:
    """A finished campaign (offers, holdout half of the targets, below-target), every customer labelled."""
    response = service.post("/api/campaigns", content_type="multipart/form-data", data={
        "file": (io.BytesIO(telco_csv(240, prefix="MQ")), "mq.csv", "text/csv"), "name": "mq", "threshold": "0.35",
        "holdout": "0.5"})
    assert response.status_code == 202, response.text
    service.run_campaigns()
    results = list(csv.DictReader(io.StringIO(service.get(f"/api/campaigns/{response.json()['id']}/results.csv").text)))
    for i, row in enumerate(results):  # churners more likely among high scores, but not only there
        row["churned"] = "1" if (float(row["churn_probability"]) > 0.5) == (i % 4 != 0) else "0"
    body = "customerid,churned,observed_at\n" + "".join(f"{r['customerid']},{r['churned']},2100-01-01T00:00:00Z\n"
                                                         for r in results)
    answer = service.post("/api/outcomes", data=body, content_type="text/csv").json()
    assert (answer["recorded"], answer["unmatched"], answer["rejected"]) == (len(results), 0, [])
    return results


def expected_ece(p: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    bins = np.minimum((p * 10).astype(int), 9)
    return sum(abs(np.sum(w[bins == k] * (p[bins == k] - y[bins == k]))) for k in range(10)) / w.sum()


def test_realized_quality_equals_sklearns_on_the_untreated_weighted_rows(service: Service, churn: Gunicorn) -> None:
    results = labelled_campaign(service)
    assert {r["decision"] for r in results} == {"offer", "holdout", "below_target"}
    untreated = [r for r in results if r["decision"] != "offer"]
    p = np.array([float(r["churn_probability"]) for r in untreated])
    y = np.array([int(r["churned"]) for r in untreated])
    w = np.array([1 / (1 - float(r["propensity"])) for r in untreated])
    assert set(w) == {1.0, 2.0}  # below target, and the holdout of a 0.5 holdout share
    version = results[0]["model_version"]

    quality = service.get("/api/model-quality").json()["versions"]
    assert list(quality) == [version]
    got = quality[version]
    assert got["n"] == len(untreated)
    assert got["auc"] == pytest.approx(roc_auc_score(y, p, sample_weight=w), abs=1e-12)
    assert got["brier"] == pytest.approx(brier_score_loss(y, p, sample_weight=w), abs=1e-12)
    assert got["ece"] == pytest.approx(expected_ece(p, y, w), abs=1e-12)
    assert sum(b["n"] for b in got["calibration"]) == len(untreated)

    scraped = service.get("/metrics").text
    families = {f.name: f for f in text_string_to_metric_families(scraped)}
    for name, value in (("marketing_model_realized_auc", got["auc"]), ("marketing_model_realized_brier", got["brier"]),
                        ("marketing_model_realized_ece", got["ece"]), ("marketing_model_labelled_rows", got["n"])):
        samples = {s.labels["version"]: s.value for s in families[name].samples}
        assert samples == {version: pytest.approx(value)}, name


    page = service.get("/model").text  # the Model page: realized beside training and churn's estimate
    served = requests.get(f"{churn.url}/model", timeout=5).json()
    estimated = requests.get(f"{churn.url}/drift", timeout=5).json().get("estimated_auc")
    row = re.search(rf'<tr class="quality-row" data-version="{re.escape(version)}">(.*?)</tr>', page, re.S)
    assert row is not None, page
    cells = dict(re.findall(r'class="num ([a-z-]+)">([^<]*)<', row.group(1)))
    assert cells["realized-auc"] == f"{got['auc']:.3f}"
    assert cells["training-auc"] == (f"{served['metrics']['test_auc']:.3f}" if served["version"] == version else "–")
    assert cells["estimated-auc"] == (f"{estimated:.3f}" if estimated is not None else "–")
    assert row.group(1).count('class="calibration-bin"') == len(got["calibration"])


def test_no_labels_no_versions(service: Service) -> None:
    assert service.get("/api/model-quality").json() == {"versions": {}}
    assert 'id="quality-none"' in service.get("/model").text
    assert "marketing_model_labelled_rows{" not in service.get("/metrics").text
