"""Faults: a worker killed mid-burst, a slow churn, a locked database. Nothing lost, nothing doubled."""
from __future__ import annotations

import email
import os
import re
import signal
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import psycopg
import requests

from tests.helpers import ADMIN_PASSWORD, Gunicorn, Marketing, count, customer, fetch_all, wait_for, worker_pids
from tests.proxy import DelayProxy
from tests.samples import LIKELY_CHURNER

BACKENDS = ("sqlite", "postgres")  # each storage test runs on both (integration/conftest.py)
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def signed_in(url: str) -> requests.Session:
    """A marketer's browser, signed in through the form (as the tests' admin)."""
    browser = requests.Session()
    browser.headers["Accept"] = "text/html,*/*;q=0.8"
    token = CSRF_FIELD.search(browser.get(f"{url}/login", timeout=5).text)
    assert token is not None
    answer = browser.post(f"{url}/login", data={"username": "admin", "password": ADMIN_PASSWORD, "csrf_token": token[1]},
                          allow_redirects=False, timeout=10)
    assert answer.status_code == 303, answer.text
    return browser


def test_kill_9_of_a_worker_mid_burst_loses_and_doubles_nothing(churn: Gunicorn, tmp_path: Path,
                                                                new_db: Callable[..., str]) -> None:
    extra = {"LEASE_SECONDS": "3", "CHURN_READ_TIMEOUT": "2"}
    with Marketing(tmp_path, churn.url, extra, workers=2, db=new_db()) as marketing:
        wait_for(lambda: len(worker_pids(marketing.proc.pid)) == 2, what="two workers")
        before = set(worker_pids(marketing.proc.pid))
        accepted: set[str] = set()
        failed = 0
        http = marketing.http  # its token made here, not by the burst's threads at once

        def post(cid: str) -> tuple[str, int | None]:
            try:
                return cid, http.post(f"{marketing.url}/api/customers", json=customer(LIKELY_CHURNER, cid),
                                      timeout=20, headers={"Connection": "close"}).status_code
            except requests.RequestException:
                return cid, None

        with ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(post, f"K-{i:03d}") for i in range(200)]
            for n, future in enumerate(as_completed(futures)):
                if n == 40:
                    os.kill(sorted(before)[0], signal.SIGKILL)
                cid, status = future.result()
                if status in (200, 202):
                    accepted.add(cid)
                else:
                    failed += 1
        wait_for(lambda: len(worker_pids(marketing.proc.pid)) == 2 and set(worker_pids(marketing.proc.pid)) != before,
                 what="gunicorn to replace the killed worker")
        # Every stored record ends scored, with exactly one offer, delivered exactly once.
        def settled() -> bool:
            pending = count(marketing.db, "SELECT COUNT(*) FROM customers WHERE status != 'scored'")
            unsent = count(marketing.db, "SELECT COUNT(*) FROM offers WHERE status != 'sent'")
            customers = count(marketing.db, "SELECT COUNT(*) FROM customers")
            offers = count(marketing.db, "SELECT COUNT(*) FROM offers")
            return pending == 0 and unsent == 0 and customers == offers
        wait_for(settled, timeout=60, what="every stored record scored and every offer sent")
        stored = {cid for (cid,) in fetch_all(marketing.db, "SELECT customerid FROM customers")}
        assert accepted <= stored, f"accepted but lost: {sorted(accepted - stored)}"
        assert len(accepted) + failed == 200 and len(accepted) >= 150
        per_customer = fetch_all(marketing.db, "SELECT customerid, COUNT(*) FROM offers GROUP BY customerid")
        assert all(n == 1 for _, n in per_customer) and len(per_customer) == len(stored)
        emails = marketing.emails()
        offer_ids = sorted(int(email.message_from_bytes(p.read_bytes())["X-Offer-Id"]) for p in emails)
        assert offer_ids == sorted(i for (i,) in fetch_all(marketing.db, "SELECT id FROM offers"))
        if marketing.db == str(marketing.db_path):
            assert fetch_all(marketing.db, "PRAGMA integrity_check") == [("ok",)]


def test_slow_churn_means_a_quick_pending_answer_then_scoring_when_it_recovers(churn: Gunicorn, tmp_path: Path,
                                                                              new_db: Callable[..., str]) -> None:
    with DelayProxy(churn.port, delay_s=4) as proxy:
        extra = {"CHURN_CONNECT_TIMEOUT": "1", "CHURN_READ_TIMEOUT": "1", "LEASE_SECONDS": "2"}
        with Marketing(tmp_path, proxy.url, extra, db=new_db()) as marketing:
            started = time.monotonic()
            response = marketing.http.post(f"{marketing.url}/api/customers", json=customer(LIKELY_CHURNER, "SLOW-1"),
                                           timeout=30)
            elapsed = time.monotonic() - started
            assert response.status_code == 202 and response.json()["customers"][0]["status"] == "pending"
            assert elapsed < proxy.delay_s, "marketing must answer within its own timeout, not churn's delay"
            assert count(marketing.db, "SELECT COUNT(*) FROM customers WHERE status = 'pending'") == 1
            proxy.delay_s = 0
            wait_for(marketing.emails, timeout=30, what="scoring and the email once churn is fast again")
            assert count(marketing.db, "SELECT COUNT(*) FROM customers WHERE status = 'scored'") == 1


class Blocker:
    """Another program holding the database's lock: SQLite's whole-file lock, or on PostgreSQL an exclusive
    lock on the customers table (what a long migration or a careless admin session does)."""

    def __init__(self, db: str):
        self.postgres = db.startswith("postgresql://")
        self.conn: Any = (psycopg.connect(db, autocommit=True) if self.postgres
                          else sqlite3.connect(db, isolation_level=None, check_same_thread=False))

    def lock(self) -> None:
        if self.postgres:
            self.conn.execute("BEGIN")
            self.conn.execute("LOCK TABLE customers IN ACCESS EXCLUSIVE MODE")
        else:
            self.conn.execute("BEGIN EXCLUSIVE")

    def unlock(self) -> None:
        self.conn.execute("COMMIT")


def test_locked_database_means_waiting_or_a_clear_503_never_corruption(churn: Gunicorn, tmp_path: Path,
                                                                        new_db: Callable[..., str]) -> None:
    with Marketing(tmp_path, churn.url, {"DB_BUSY_TIMEOUT_MS": "1500"}, db=new_db()) as marketing:
        blocker = Blocker(marketing.db)
        http = marketing.http  # its token stored before the database is locked
        try:
            # A short lock: the request waits for it and succeeds.
            blocker.lock()
            release = threading.Timer(0.5, blocker.unlock)
            release.start()
            waited = http.post(f"{marketing.url}/api/customers", json=customer(LIKELY_CHURNER, "LOCK-1"), timeout=20)
            release.join()
            assert waited.status_code == 200
            # A lock held past the busy timeout: a clear, retryable 503 and nothing half-stored.
            browser = signed_in(marketing.url)
            token = CSRF_FIELD.search(browser.get(marketing.url + "/", timeout=5).text)
            assert token is not None
            blocker.lock()
            # Four clients at once (a worker's threads): each is told within about the busy timeout, not
            # after waiting out the timeouts of every writer queued ahead of it.
            def refused_submission(n: int) -> tuple[requests.Response, float]:
                started = time.monotonic()
                response = http.post(f"{marketing.url}/api/customers", json=customer(LIKELY_CHURNER, f"LOCK-2{n}"),
                                     timeout=30)
                return response, time.monotonic() - started
            with ThreadPoolExecutor(4) as pool:
                burst = list(pool.map(refused_submission, range(4)))
            form = {k: str(v) for k, v in customer(LIKELY_CHURNER, "LOCK-3").items()}
            refused_form = browser.post(marketing.url + "/", data=dict(form, csrf_token=token[1]), timeout=20)
            blocker.unlock()
        finally:
            blocker.conn.close()
        for refused, _ in burst:
            assert refused.status_code == 503 and refused.headers["Retry-After"] == "1"
            assert refused.json()["error"]["code"] == "storage_busy"
        slowest = max(waited_s for _, waited_s in burst)
        assert slowest < 2 * 1.5, f"a write waited {slowest:.1f} s with DB_BUSY_TIMEOUT_MS=1500"
        assert count(marketing.db, "SELECT COUNT(*) FROM customers WHERE customerid LIKE 'LOCK-2%'") == 0
        # The marketer's form comes back with the entries kept, to submit again.
        assert refused_form.status_code == 503 and "nothing was saved" in refused_form.text
        assert 'value="LOCK-3"' in refused_form.text
        assert count(marketing.db, "SELECT COUNT(*) FROM customers WHERE customerid = 'LOCK-3'") == 0
        retried = http.post(f"{marketing.url}/api/customers", json=customer(LIKELY_CHURNER, "LOCK-20"), timeout=20)
        assert retried.status_code == 200
        if not blocker.postgres:
            assert fetch_all(marketing.db, "PRAGMA integrity_check") == [("ok",)]
        wait_for(lambda: len(marketing.emails()) == 2, what="both offers delivered")
