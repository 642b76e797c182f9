"""PostgreSQL with several instances (DESIGN §9): instances starting at once migrate a new database exactly
once, and two instances on one database, one killed with SIGKILL mid-burst, lose nothing and double nothing."""
from __future__ import annotations

import email
import multiprocessing
import os
import signal
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import pytest
import requests

from harness.postgres import PostgresCluster
from marketing_service.storage.postgres import PostgresStorage
from marketing_service.storage.schema import VERSION
from tests.helpers import Gunicorn, Marketing, count, customer, fetch_all, wait_for, worker_pids
from tests.samples import LIKELY_CHURNER

STARTERS, ROUNDS, BURST = 6, 4, 300


def _start(url: str, barrier: multiprocessing.synchronize.Barrier, errors: multiprocessing.Queue) -> None:
    barrier.wait()
    try:
        storage = PostgresStorage(url, 15_000, 2)
        try:
            storage.init_db()
        finally:
            storage.close()
    except Exception as exc:  # any failure to start is what this test looks for
        errors.put(repr(exc))


def test_instances_starting_at_once_migrate_a_new_database_exactly_once(postgres_cluster: PostgresCluster) -> None:
    context = multiprocessing.get_context("fork")
    errors: multiprocessing.Queue = context.Queue()
    urls = [postgres_cluster.create_database() for _ in range(ROUNDS)]
    for url in urls:
        barrier = context.Barrier(STARTERS)
        processes = [context.Process(target=_start, args=(url, barrier, errors)) for _ in range(STARTERS)]
        for process in processes:
            process.start()
        for process in processes:
            process.join(timeout=60)
            assert process.exitcode == 0
    failures = []
    while not errors.empty():
        failures.append(errors.get())
    assert failures == [], f"{len(failures)} of {STARTERS * ROUNDS} starts failed: {failures[:3]}"
    for url in urls:
        assert fetch_all(url, "SELECT version FROM schema_version") == [(VERSION,)]
        assert count(url, "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'offers'") == 1


@pytest.mark.slow
def test_two_instances_one_killed_mid_burst_lose_and_double_nothing(churn: Gunicorn, tmp_path: Path,
                                                                     postgres_cluster: PostgresCluster) -> None:
    """Two gunicorn masters on one database and one mail folder; the first is killed (master and workers)
    with SIGKILL while submissions pour into both. The survivor takes over the victim's leases."""
    url, extra = postgres_cluster.create_database(), {"LEASE_SECONDS": "3", "CHURN_READ_TIMEOUT": "2"}
    with Marketing(tmp_path, churn.url, extra, db=url) as victim, Marketing(tmp_path, churn.url, extra, db=url) as survivor:
        wait_for(lambda: len(worker_pids(victim.proc.pid)) == 2, what="the victim's two workers")
        doomed = [victim.proc.pid, *worker_pids(victim.proc.pid)]

        clients = [(victim.url, victim.http), (survivor.url, survivor.http)]  # each one's token, made before the burst

        def post(n: int) -> tuple[str, int | None]:
            cid, (url, http) = f"PG-{n:03d}", clients[n % 2]
            try:
                return cid, http.post(f"{url}/api/customers", json=customer(LIKELY_CHURNER, cid),
                                      timeout=20, headers={"Connection": "close"}).status_code
            except requests.RequestException:
                return cid, None

        accepted: set[str] = set()
        with ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(post, n) for n in range(BURST)]
            for n, future in enumerate(as_completed(futures)):
                if n == 60:
                    for pid in doomed:
                        os.kill(pid, signal.SIGKILL)
                cid, status = future.result()
                if status in (200, 202):
                    accepted.add(cid)
        victim.proc.wait(timeout=10)
        survivor_only = {f"PG-{n:03d}" for n in range(1, BURST, 2)}
        assert survivor_only <= accepted, "the survivor must accept everything sent to it"
        assert len(accepted) > len(survivor_only), "the victim accepted some before it died"

        def settled() -> bool:  # every stored record scored, every offer sent: nothing pending forever
            return (count(url, "SELECT COUNT(*) FROM customers WHERE status != 'scored'") == 0
                    and count(url, "SELECT COUNT(*) FROM offers WHERE status != 'sent'") == 0
                    and count(url, "SELECT COUNT(*) FROM customers") == count(url, "SELECT COUNT(*) FROM offers"))
        wait_for(settled, timeout=90, what="the survivor to score and deliver everything")
        stored = [cid for (cid,) in fetch_all(url, "SELECT customerid FROM customers")]
        assert accepted <= set(stored), f"accepted but lost: {sorted(accepted - set(stored))}"
        assert len(stored) == len(set(stored))
        per_customer = fetch_all(url, "SELECT customerid, COUNT(*) FROM offers GROUP BY customerid")
        assert all(n == 1 for _, n in per_customer) and len(per_customer) == len(stored)
        assert count(url, "SELECT COUNT(*) FROM decisions") >= len(stored)
        messages = [email.message_from_bytes(p.read_bytes()) for p in survivor.emails()]
        recipients = [m["To"] for m in messages]
        assert len(recipients) == len(set(recipients)) == len(stored), "one email per customer, none twice"
        assert sorted(int(m["X-Offer-Id"]) for m in messages) == sorted(i for (i,) in fetch_all(url, "SELECT id FROM offers"))
