"""After a load run on two workers, `/metrics` counts exactly the requests that were sent.

Sixteen keep-alive clients hammer the fast path, the full path (another spelling), batches and bad requests
at once; every count an operator graphs (requests by route and status, predictions, the probability
histogram, latencies) must then match what the clients sent, whichever worker and path answered."""
from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from tests.helpers import Gunicorn
from tests.samples import LIKELY_CHURNER, LOYAL_CUSTOMER

CLIENTS, ROUNDS, BATCH = 16, 60, 50
CSV_SPELLED = {**LOYAL_CUSTOMER, "Contract": "Two year", "contract": None}


def metric(text: str, prefix: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(prefix))


def client(url: str, number: int) -> Counter[str]:
    """One keep-alive client's share of the load; returns what it sent, by kind and answer."""
    sent: Counter[str] = Counter()
    csv_spelled = {k: v for k, v in CSV_SPELLED.items() if v is not None}
    with requests.Session() as session:
        for i in range(ROUNDS):
            kind, body, path = [("fast", LIKELY_CHURNER, "/predict"), ("full", csv_spelled, "/predict"),
                                ("batch", {"customers": [LIKELY_CHURNER] * BATCH}, "/predict/batch"),
                                ("bad", {**LIKELY_CHURNER, "tenure": -1}, "/predict")][(number + i) % 4]
            status = session.post(url + path, json=body, timeout=30).status_code
            sent[f"{kind} {status}"] += 1
    return sent


def test_metrics_equal_the_requests_sent_after_a_load_run(model_dir: Path, tmp_path: Path) -> None:
    env = {"MODEL_PATH": str(model_dir / "model.bin"), "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    with Gunicorn("churn_service", env, workers=2) as server:
        with ThreadPoolExecutor(CLIENTS) as pool:
            sent = sum(pool.map(lambda n: client(server.url, n), range(CLIENTS)), Counter())
        total = CLIENTS * ROUNDS // 4
        assert sent == {"fast 200": total, "full 200": total, "batch 200": total, "bad 422": total}
        writers = {p.name.rsplit("_", 1)[1] for p in tmp_path.glob("*/counter_*.db")}
        text = requests.get(f"{server.url}/metrics", timeout=10).text

    assert len(writers) == 2, "both workers should have answered part of the load"
    scored = 2 * total + BATCH * total
    assert metric(text, 'http_requests_total{method="POST",route="/predict",status="200"}') == 2 * total
    assert metric(text, 'http_requests_total{method="POST",route="/predict",status="422"}') == total
    assert metric(text, 'http_requests_total{method="POST",route="/predict/batch",status="200"}') == total
    assert metric(text, 'http_request_duration_seconds_count{method="POST",route="/predict"}') == 3 * total
    assert metric(text, "churn_predictions_total") == scored
    assert metric(text, "churn_probability_count") == scored
    # LIKELY_CHURNER churns, LOYAL_CUSTOMER does not: the outcome split is known from what was sent.
    assert metric(text, 'churn_predictions_total{outcome="churn"}') == total + BATCH * total
