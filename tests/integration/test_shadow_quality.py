"""The shadow loop end to end (DESIGN §13), every part real: churn (gunicorn, 2 workers) serves a model trained on
a shuffled Churn column and shadow-scores a real one named in SHADOW; marketing (gunicorn) scores Telco customers,
copies churn's shadow records, takes their real outcomes, and reports both models on the same rows with a DeLong
CI; `python -m train promote-shadow` reads that report over HTTP and promotes the challenger."""
from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sklearn.metrics import roc_auc_score

from churn_service.serving import load_serving
from feature_contract import parse_record
from tests.helpers import DATA, Gunicorn, Marketing, api_token, run_train, wait_for

QUICK = ("--folds", "2")
N = 600


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """CURRENT: a model of a shuffled Churn column (AUC about 0.5); SHADOW: one trained on the real labels."""
    folder = tmp_path_factory.mktemp("shadow-loop")
    with open(DATA, newline="") as f:
        rows = list(csv.DictReader(f))
    labels = [row["Churn"] for row in rows]
    random.Random(13).shuffle(labels)
    shuffled = folder / "shuffled.csv"
    with open(shuffled, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows({**row, "Churn": label} for row, label in zip(rows, labels, strict=True))
    root = folder / "models"
    assert run_train("--registry", root, "--data", shuffled, "--promote", "always", *QUICK).returncode == 0
    champion = (root / "CURRENT").read_text().strip()
    assert run_train("--registry", root, "--promote", "never", *QUICK).returncode == 0
    [challenger] = [p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and p.name != champion]
    assert run_train("shadow", challenger, "--registry", root).returncode == 0
    return root, champion, challenger


@pytest.fixture(scope="module")
def services(registry: tuple[Path, str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Marketing]:
    root = registry[0]
    with Gunicorn("churn_service", {"MODEL_REGISTRY": str(root), "MODEL_POLL_SECONDS": "0.5"}, workers=2) as churn, \
            Marketing(tmp_path_factory.mktemp("marketing"), churn.url, {"SHADOW_POLL_SECONDS": "0.5"}) as marketing:
        yield marketing


def test_champion_and_challenger_on_the_same_labelled_rows_then_promote_shadow(
        services: Marketing, registry: tuple[Path, str, str]) -> None:
    root, champion, challenger = registry
    http, base = services.http, services.url
    with open(DATA, newline="") as f:
        rows = list(csv.DictReader(f))[:N]
    customers = [{**{k: v for k, v in row.items() if k not in ("customerID", "Churn")}, "customerid": f"SH{i:04d}",
                  "email": f"sh{i}@example.com", "name": "S"} for i, row in enumerate(rows)]
    untreated: set[str] = set()
    for start in range(0, N, 100):
        answer = http.post(f"{base}/api/customers", json={"customers": customers[start:start + 100]}, timeout=60)
        assert answer.status_code == 200, answer.text
        untreated |= {c["customerid"] for c in answer.json()["customers"] if c["offer"] is None}
    assert len(untreated) > N // 2  # the shuffled model rarely crosses the threshold: most get no offer
    body = "customerid,churned,observed_at\n" + "".join(
        f"SH{i:04d},{row['Churn']},2999-01-01T00:00:00Z\n" for i, row in enumerate(rows))
    recorded = http.post(f"{base}/api/outcomes", data=body, headers={"Content-Type": "text/csv"}, timeout=60).json()
    assert (recorded["recorded"], recorded["unmatched"]) == (N, 0), recorded

    def comparison() -> dict | None:
        quality = http.get(f"{base}/api/model-quality", timeout=10).json()
        return quality if "shadow" in quality and quality["shadow"]["n"] == len(untreated) else None

    quality = wait_for(comparison, timeout=60, what="the shadow block over every untreated labelled customer")
    shadow, realized = quality["shadow"], quality["versions"][champion]
    assert (shadow["champion"], shadow["challenger"]) == (champion, challenger)
    assert shadow["champion_auc"] == pytest.approx(realized["auc"], abs=1e-12) and shadow["n"] == realized["n"]
    # The challenger's AUC, recomputed here from the challenger's own artifact on the same customers.
    scorer = load_serving(root / challenger / "model.bin").scorer
    kept = [(row, i) for i, row in enumerate(rows) if f"SH{i:04d}" in untreated]
    probabilities = scorer.score_many([parse_record({k: v for k, v in row.items() if k != "Churn"}) for row, _ in kept])
    truth = [row["Churn"] == "Yes" for row, _ in kept]
    assert shadow["challenger_auc"] == pytest.approx(roc_auc_score(truth, probabilities), abs=1e-9)
    assert shadow["difference"] == pytest.approx(shadow["challenger_auc"] - shadow["champion_auc"], abs=1e-12)
    lo, hi = shadow["ci95"]
    assert 0 < lo < shadow["difference"] < hi  # real labels against shuffled ones, on hundreds of rows

    page = http.get(f"{base}/model", timeout=10).text
    assert 'data-verdict="better"' in page and f"{shadow['n']} labelled customers" in page

    quality_url = f"{base}/api/model-quality"
    anonymous = run_train("promote-shadow", "--registry", root, "--quality", quality_url)
    assert anonymous.returncode == 2 and "answered 401" in anonymous.stderr
    token = api_token(services.db, "marketer")
    done = run_train("promote-shadow", "--registry", root, "--quality", quality_url, "--token", token)
    assert done.returncode == 0 and f"PROMOTED: {challenger} is now served" in done.stdout, done.stdout + done.stderr
    assert (root / "CURRENT").read_text().strip() == challenger and not (root / "SHADOW").exists()
    assert requests.get(f"{base}/readyz", timeout=5).status_code == 200
