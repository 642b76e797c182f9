"""A soak of mixed traffic against both services: zero errors and flat memory (SOAK_SECONDS, default 60)."""
from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import requests

from bench import wrk
from tests.helpers import Gunicorn, rss_kib, worker_pids
from tests.integration.conftest import Marketing
from tests.samples import LIKELY_CHURNER, LOYAL_CUSTOMER

SOAK_SECONDS = int(os.environ.get("SOAK_SECONDS", "60"))
WARM_UP_SECONDS = 10
# Allowed growth of a worker's resident memory over the soak after warm-up (caches, SQLite pages).
MAX_GROWTH_KIB = 16 * 1024


def workers_rss(server: Gunicorn) -> dict[int, int]:
    return {pid: rss_kib(pid) for pid in worker_pids(server.proc.pid)}


def browse(url: str, stop: threading.Event, failures: list[str], pages: list[int]) -> None:
    """A marketer clicking around while the APIs are busy."""
    while not stop.is_set():
        for path in ("/", "/customers", "/offers", "/api/offers?limit=50", "/readyz"):
            response = requests.get(url + path, timeout=10)
            if response.status_code != 200:
                failures.append(f"{path}: {response.status_code}")
            pages[0] += 1


def test_soak_mixed_traffic_zero_errors_flat_memory(model_dir: Path, tmp_path: Path, capsys) -> None:
    with Gunicorn("churn_service", {"MODEL_PATH": str(model_dir / "model.bin")}, workers=2) as churn, \
            Marketing(tmp_path, churn.url, workers=2) as marketing:
        churner = json.dumps({**LIKELY_CHURNER, "customerid": "%s", "email": "soak@example.com", "name": "Soak"})
        loyal = json.dumps({**LOYAL_CUSTOMER, "customerid": "%s", "email": "soak@example.com"})
        predict_body = json.dumps(LIKELY_CHURNER)

        def phase(seconds: int) -> dict[str, wrk.WrkResult]:
            results: dict[str, wrk.WrkResult] = {}
            jobs = {
                "churn /predict": lambda: wrk.run(f"{churn.url}/predict", 4, seconds, body=predict_body),
                "marketing churners": lambda: wrk.run(f"{marketing.url}/api/customers", 2, seconds,
                                                      unique_template=churner),
                "marketing loyal": lambda: wrk.run(f"{marketing.url}/api/customers", 2, seconds,
                                                   unique_template=loyal),
            }
            threads = [threading.Thread(target=lambda k=k, f=f: results.__setitem__(k, f())) for k, f in jobs.items()]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            return results

        phase(WARM_UP_SECONDS)
        before = {"churn": workers_rss(churn), "marketing": workers_rss(marketing)}
        stop, failures, pages = threading.Event(), [], [0]
        browser = threading.Thread(target=browse, args=(marketing.url, stop, failures, pages))
        browser.start()
        started = time.monotonic()
        results = phase(SOAK_SECONDS)
        stop.set()
        browser.join()
        after = {"churn": workers_rss(churn), "marketing": workers_rss(marketing)}
        report = [f"soak {time.monotonic() - started:.0f}s: " + "; ".join(
            f"{k} {r.requests_per_s:.0f} req/s p99 {r.p99_ms:.1f} ms errors {r.errors}" for k, r in results.items())
            + f"; {pages[0]} page views"]
        report += [f"  {service} worker RSS KiB before/after: " + ", ".join(
            f"{before[service][pid]}/{after[service].get(pid)}" for pid in before[service]) for service in before]
        with capsys.disabled():
            print("\n" + "\n".join(report))  # noqa: T201 - the soak's numbers belong in the test log
        assert all(r.errors == 0 and r.requests_per_s > 0 for r in results.values()), results
        assert failures == []
        for service in before:
            assert set(after[service]) == set(before[service]), f"{service} workers restarted during the soak"
            for pid, rss in before[service].items():
                assert after[service][pid] - rss < MAX_GROWTH_KIB, f"{service} worker {pid} grew {before}->{after}"
