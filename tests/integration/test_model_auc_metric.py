"""`churn_model_test_auc{version}` over real gunicorn with 2 workers in multiprocess mode: whichever worker
answers the scrape, `/metrics` holds one sample, the served version's `metrics.test_auc` as `GET /model` gives
it; and after a promotion it follows the new model, with no series left behind for the old one (the
realized-AUC alert of monitoring/rules.yml joins on that version)."""
from __future__ import annotations

from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import Gunicorn, registry_copy, run_train, wait_for

CLOSE = {"Connection": "close"}  # a fresh connection per request, so either worker may take it


@pytest.fixture(scope="module")
def registry(two_versions: tuple[Path, str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two versions with different test AUCs, the first CURRENT: a copy, since the test promotes the second."""
    return registry_copy(two_versions[0], tmp_path_factory.mktemp("model-auc") / "models")


def exposed_test_auc(url: str) -> dict[str, float]:
    text = requests.get(f"{url}/metrics", timeout=5, headers=CLOSE).text
    return {sample.labels["version"]: sample.value for family in text_string_to_metric_families(text)
            if family.name == "churn_model_test_auc" for sample in family.samples}


def served(url: str) -> dict[str, float]:
    model = requests.get(f"{url}/model", timeout=5, headers=CLOSE).json()
    return {model["version"]: model["metrics"]["test_auc"]}


def test_the_gauge_is_the_served_models_test_auc_and_follows_a_promotion(registry: Path) -> None:
    current = (registry / "CURRENT").read_text().strip()
    [other] = [p.name for p in registry.iterdir() if p.is_dir() and p.name != current and not p.name.startswith(".")]
    env = {"MODEL_REGISTRY": str(registry), "MODEL_POLL_SECONDS": "0.5"}
    with Gunicorn("churn_service", env, workers=2) as churn:
        before = served(churn.url)
        assert list(before) == [current] and 0.5 < before[current] <= 1
        for _ in range(6):  # fresh connections, so both workers answer some of the scrapes
            assert exposed_test_auc(churn.url) == before

        assert run_train("promote", other, "--registry", registry).returncode == 0
        wait_for(lambda: all(next(iter(served(churn.url))) == other for _ in range(12)), timeout=10,
                 what="the new model in both workers")
        after = served(churn.url)
        assert after != before
        for _ in range(6):
            assert exposed_test_auc(churn.url) == after, "only the served version has a test AUC series"
