"""A soak of mixed traffic against both services: zero errors and flat memory (SOAK_SECONDS, default 60).

The load is steady, not flat out: each wrk connection pauses between requests, so both services run at
roughly half of what this 2-core box serves. A soak asks whether anything leaks, fails or stalls over
time at a load the box can carry; running all three loads as fast as they go only measures whose
threads the scheduler favours (benchmarks in bench/ measure the ceiling)."""
from __future__ import annotations

import json
import os
import re
import threading
import time
from pathlib import Path

import pytest
import requests

from harness import wrk
from tests.helpers import ADMIN_PASSWORD, Gunicorn, Marketing, api_token, rss_kib, worker_pids
from tests.samples import LIKELY_CHURNER, LOYAL_CUSTOMER

SOAK_SECONDS = int(os.environ.get("SOAK_SECONDS", "60"))
WARM_UP_SECONDS = 10
# Allowed growth of a worker's resident memory over the soak after warm-up (caches, SQLite pages).
MAX_GROWTH_KIB = 16 * 1024
# Pauses between one connection's requests: about 1,200 /predict and 90 submissions a second in all.
CHURN_PAUSE_MS, MARKETING_PAUSE_MS = 2, 25

pytestmark = [pytest.mark.soak, pytest.mark.slow]


def workers_rss(server: Gunicorn) -> dict[int, int]:
    return {pid: rss_kib(pid) for pid in worker_pids(server.proc.pid)}


def signed_in(url: str) -> requests.Session:
    """A marketer's browser, signed in through the form (as the tests' admin)."""
    browser = requests.Session()
    token = re.search(r'name="csrf_token" value="([^"]+)"', browser.get(f"{url}/login", timeout=5).text)
    assert token is not None
    answer = browser.post(f"{url}/login", data={"username": "admin", "password": ADMIN_PASSWORD, "csrf_token": token[1]},
                          allow_redirects=False, timeout=10)
    assert answer.status_code == 303, answer.text
    return browser


class Browsing:
    """A marketer clicking around while the APIs are busy: what went wrong, and the slowest page."""

    PATHS = ("/", "/customers", "/offers", "/api/offers?limit=50", "/readyz")

    def __init__(self, url: str):
        self.url, self.stop, self.browser = url, threading.Event(), signed_in(url)
        self.pages, self.slowest_s, self.failures = 0, 0.0, []
        self.thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        while not self.stop.is_set():
            for path in self.PATHS:
                started = time.monotonic()
                try:
                    status = self.browser.get(self.url + path, timeout=10).status_code
                except requests.RequestException as exc:
                    status = f"{type(exc).__name__}: {exc}"
                elapsed = time.monotonic() - started
                if status != 200:
                    self.failures.append(f"{time.strftime('%H:%M:%S')} GET {path}: {status} after {elapsed:.1f} s")
                self.pages, self.slowest_s = self.pages + 1, max(self.slowest_s, elapsed)

    def __enter__(self) -> Browsing:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join()


def test_soak_mixed_traffic_zero_errors_flat_memory(model_dir: Path, tmp_path: Path, capsys) -> None:
    with Gunicorn("churn_service", {"MODEL_PATH": str(model_dir / "model.bin")}, workers=2) as churn, \
            Marketing(tmp_path, churn.url, workers=2) as marketing:
        churner = json.dumps({**LIKELY_CHURNER, "customerid": "%s", "email": "soak@example.com", "name": "Soak"})
        loyal = json.dumps({**LOYAL_CUSTOMER, "customerid": "%s", "email": "soak@example.com"})
        predict_body = json.dumps(LIKELY_CHURNER)
        marketer = {"Authorization": f"Bearer {api_token(marketing.db, role='marketer')}"}  # an importing script's

        def phase(seconds: int) -> dict[str, wrk.WrkResult]:
            results: dict[str, wrk.WrkResult] = {}
            jobs = {
                "churn /predict": lambda: wrk.run(f"{churn.url}/predict", 4, seconds, body=predict_body,
                                                  pause_ms=CHURN_PAUSE_MS),
                "marketing churners": lambda: wrk.run(f"{marketing.url}/api/customers", 2, seconds, headers=marketer,
                                                      unique_template=churner, pause_ms=MARKETING_PAUSE_MS),
                "marketing loyal": lambda: wrk.run(f"{marketing.url}/api/customers", 2, seconds, headers=marketer,
                                                   unique_template=loyal, pause_ms=MARKETING_PAUSE_MS),
            }
            threads = [threading.Thread(target=lambda k=k, f=f: results.__setitem__(k, f())) for k, f in jobs.items()]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            return results

        phase(WARM_UP_SECONDS)
        before = {"churn": workers_rss(churn), "marketing": workers_rss(marketing)}
        started = time.monotonic()
        with Browsing(marketing.url) as browsing:
            results = phase(SOAK_SECONDS)
        after = {"churn": workers_rss(churn), "marketing": workers_rss(marketing)}
        report = [f"soak {time.monotonic() - started:.0f}s: " + "; ".join(
            f"{k} {r.requests_per_s:.0f} req/s p99 {r.p99_ms:.1f} ms errors {r.errors}" for k, r in results.items())
            + f"; {browsing.pages} page views, slowest {browsing.slowest_s * 1000:.0f} ms"]
        report += [f"  {service} worker RSS KiB before/after: " + ", ".join(
            f"{before[service][pid]}/{after[service].get(pid)}" for pid in before[service]) for service in before]
        with capsys.disabled():
            print("\n" + "\n".join(report))  # noqa: T201 - the soak's numbers belong in the test log
        assert all(r.errors == 0 and r.requests_per_s > 0 for r in results.values()), results
        assert browsing.failures == []
        for service in before:
            assert set(after[service]) == set(before[service]), f"{service} workers restarted during the soak"
            for pid, rss in before[service].items():
                assert after[service][pid] - rss < MAX_GROWTH_KIB, f"{service} worker {pid} grew {before}->{after}"
