"""monitoring/ for real: promtool accepts and unit-tests the rules, and a real Prometheus (Debian's package)
scraping test instances of both services sees the drift alert reach `firing` after shifted traffic."""
from __future__ import annotations

import csv
import os
import random
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml

from tests.helpers import DATA, REPO, Gunicorn, Marketing, free_port, wait_for

MONITORING = REPO / "monitoring"


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {name} is missing: scripts/install-test-deps.sh installs Debian's prometheus")
        pytest.skip(f"{name} is not installed (make install)")
    return path


def test_promtool_accepts_the_config_and_every_alert_passes_its_unit_test() -> None:
    for args in (("check", "config", "prometheus.yml"), ("check", "rules", "rules.yml"), ("test", "rules", "rules_test.yml")):
        done = subprocess.run([tool("promtool"), *args], cwd=MONITORING, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"promtool {' '.join(args)}:\n{done.stdout}\n{done.stderr}"


@pytest.fixture()
def prometheus(tmp_path: Path, model_dir: Path) -> Iterator[tuple[str, Gunicorn]]:
    """Churn and marketing on free ports, and Prometheus scraping both every second with the project's
    rules, the drift alerts' `for:` lowered to 2 s (the documented knob) so the test does not wait 15 min."""
    churn_env = {"MODEL_PATH": str(model_dir / "model.bin"), "DRIFT_WINDOW": "600", "DRIFT_MIN_RECORDS": "500"}
    with Gunicorn("churn_service", churn_env, workers=2) as churn, Marketing(tmp_path, churn.url) as marketing:
        rules = yaml.safe_load((MONITORING / "rules.yml").read_text())
        for group in rules["groups"]:
            for rule in group["rules"]:
                if rule["alert"] in ("ChurnFeatureDrift", "ChurnPredictionDrift"):
                    rule["for"] = "2s"
        (tmp_path / "rules.yml").write_text(yaml.safe_dump(rules))
        config = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
        config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
        config["scrape_configs"] = [
            {"job_name": "churn", "static_configs": [{"targets": [churn.url.removeprefix("http://")]}]},
            {"job_name": "marketing", "static_configs": [{"targets": [marketing.url.removeprefix("http://")]}]},
        ]
        (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
        port = free_port()
        log = (tmp_path / "prometheus.log").open("w")
        proc = subprocess.Popen([tool("prometheus"), f"--config.file={tmp_path / 'prometheus.yml'}",
                                 f"--storage.tsdb.path={tmp_path / 'tsdb'}", f"--web.listen-address=127.0.0.1:{port}"],
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            def ready() -> bool:
                assert proc.poll() is None, (tmp_path / "prometheus.log").read_text()[-3000:]
                try:
                    return requests.get(f"{url}/-/ready", timeout=2).status_code == 200
                except requests.ConnectionError:
                    return False

            wait_for(ready, timeout=60, what="prometheus ready")
            yield url, churn
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            log.close()


def alerts(url: str) -> list[dict]:
    return requests.get(f"{url}/api/v1/alerts", timeout=5).json()["data"]["alerts"]


def test_shifted_traffic_makes_the_drift_alert_fire_in_a_real_prometheus(prometheus: tuple[str, Gunicorn]) -> None:
    url, churn = prometheus

    def both_targets_up() -> bool:
        targets = requests.get(f"{url}/api/v1/targets", timeout=5).json()["data"]["activeTargets"]
        return len(targets) == 2 and all(t["health"] == "up" for t in targets)

    wait_for(both_targets_up, timeout=30, what="prometheus scraping churn and marketing")
    up = requests.get(f"{url}/api/v1/query", params={"query": "marketing_churn_up"}, timeout=5).json()
    assert [r["value"][1] for r in up["data"]["result"]] == ["1"]
    assert not [a for a in alerts(url) if a["labels"]["alertname"] == "ChurnFeatureDrift"]

    with open(DATA, newline="") as f:
        rows = random.Random(3).sample(list(csv.DictReader(f)), 600)
    shifted = [{**row, "Contract": "Month-to-month", "tenure": str(3 * int(row["tenure"]))} for row in rows]
    response = requests.post(f"{churn.url}/predict/batch", json={"customers": shifted}, timeout=30)
    assert response.status_code == 200

    def drift_firing() -> set[str]:
        return {a["labels"].get("feature") for a in alerts(url)
                if a["labels"]["alertname"] == "ChurnFeatureDrift" and a["state"] == "firing"}

    assert wait_for(drift_firing, timeout=60, what="ChurnFeatureDrift firing") >= {"contract", "tenure"}
    assert "gender" not in drift_firing()
