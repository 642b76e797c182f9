"""A SIGHUP to the gunicorn master (how a registry change or a new config is picked up without dropping a
connection) replaces the workers but keeps what they share: the request counters, the drift window; and the
metrics directory is still removed when the service stops."""
from __future__ import annotations

import os
import re
import signal
from pathlib import Path

import requests

from harness.servers import worker_pids
from tests.helpers import Gunicorn, wait_for
from tests.samples import LOYAL_CUSTOMER


def predictions(server: Gunicorn) -> float:
    text = requests.get(f"{server.url}/metrics", timeout=5).text
    return sum(float(v) for v in re.findall(r"^churn_predictions_total\{[^}]*\} (\S+)$", text, re.M))


def test_a_reload_keeps_the_counters_and_the_drift_window(model_dir: Path, tmp_path: Path) -> None:
    parent = tmp_path / "metrics"
    env = {"MODEL_PATH": str(model_dir / "model.bin"), "PROMETHEUS_MULTIPROC_DIR": str(parent)}
    with Gunicorn("churn_service", env, workers=2) as server:
        with requests.Session() as http:
            for _ in range(50):
                assert http.post(f"{server.url}/predict", json=LOYAL_CUSTOMER, timeout=5).status_code == 200
        window = requests.get(f"{server.url}/drift", timeout=5).json()["window"]
        assert predictions(server) == 50 and window == 50
        assert server.proc is not None
        before = set(worker_pids(server.proc.pid))
        os.kill(server.proc.pid, signal.SIGHUP)

        def replaced() -> bool:
            now = set(worker_pids(server.proc.pid))
            return len(now) == 2 and not now & before and len(re.findall(r"worker \d+ ready", server.output())) >= 4
        wait_for(replaced, timeout=30, what="two new workers after SIGHUP")
        assert predictions(server) == 50
        assert requests.get(f"{server.url}/drift", timeout=5).json()["window"] == window
        assert len(list(parent.iterdir())) == 1  # one directory for the master, not one per reload
    assert list(parent.iterdir()) == []
