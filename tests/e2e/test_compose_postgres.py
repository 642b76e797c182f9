"""`docker compose --profile postgres up` for real (DESIGN §9): two marketing instances on one PostgreSQL,
built offline from Debian's postgresql package on the base image, with two churn replicas behind them.

Both instances see the same customers, a customer submitted to both gets one offer and one email, and the
schema was migrated once though both instances started together. Compose v2 (replicas), Debian layout.
The profile comes up from nothing (every volume removed) five times in a row: three churn containers share
one fresh `models` volume, which Docker would otherwise race to populate (moby#43068).
"""
from __future__ import annotations

import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from marketing_service.storage.schema import VERSION
from tests.e2e.compose_stack import BUILD_TIMEOUT_S, FIRST_TEST_BUDGET_S, Compose, compose_on, wait_for
from tests.helpers import REPO, free_port
from tests.samples import LIKELY_CHURNER

pytestmark = [pytest.mark.compose, pytest.mark.slow, pytest.mark.timeout(FIRST_TEST_BUDGET_S),
              pytest.mark.optional(reason="needs a Docker engine and Compose; under CI=true their absence fails")]
COLD_STARTS = 5


class PostgresStack(Compose):
    marketing_service = "marketing-pg-1"  # its token is good on both instances: they share one database

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        self.base += ["--profile", "postgres"]
        self.instances = [f"http://127.0.0.1:{self.env.setdefault(name, str(free_port()))}"
                          for name in ("MARKETING_PG1_PORT", "MARKETING_PG2_PORT")]
        self.env["POSTGRES_PASSWORD"] = "e2e-postgres-password"
        self.cold_starts: list[str] = []

    def start_cold(self) -> str:
        """`up` on no volumes at all, then both instances ready: "ok", or what went wrong."""
        up = subprocess.run([*self.base, "up", "-d", "--no-build"], cwd=REPO, env=self.env, capture_output=True,
                            text=True, timeout=300)
        if up.returncode != 0:
            logs = subprocess.run([*self.base, "logs", "--no-color", "--tail", "20"], cwd=REPO, env=self.env,
                                  capture_output=True, text=True, timeout=60).stdout
            return f"up failed: {up.stderr[-1500:]}\nlogs:\n{logs[-3000:]}"
        try:
            for url in self.instances:
                wait_for(lambda url=url: self.ready(url), timeout=180, what=f"marketing at {url} ready on PostgreSQL")
        except AssertionError as timed_out:
            return str(timed_out)
        return "ok"

    def remove_everything(self) -> None:
        subprocess.run([*self.base, "down", "-v", "--remove-orphans", "--timeout", "10"], cwd=REPO, env=self.env,
                       capture_output=True, timeout=180)

    def ready(self, url: str) -> bool:
        body = requests.get(f"{url}/readyz", timeout=3).json()
        return body.get("database") == "ok" and body.get("churn") == "reachable"

    def psql(self, sql: str) -> str:
        return self.run("exec", "-T", "postgres", "psql", "-U", "marketing", "-d", "marketing", "-tAc", sql).stdout.strip()

    def shared_mail(self) -> list[str]:
        listing = self.run("exec", "-T", "marketing-pg-2", "ls", "/data/mail").stdout.split()
        return sorted(name for name in listing if name.endswith(".eml"))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresStack]:
    stack = PostgresStack(compose_on("debian", tmp_path_factory.mktemp("docker-config")), "pg", "debian")
    try:
        stack.run("build", timeout=BUILD_TIMEOUT_S)
        for attempt in range(COLD_STARTS):
            if attempt:
                stack.remove_everything()
            stack.cold_starts.append(stack.start_cold())
        assert stack.cold_starts[-1] == "ok", stack.cold_starts[-1]
        yield stack
    finally:
        subprocess.run([*stack.base, "logs", "--no-color", "--tail", "50"], cwd=REPO, env=stack.env, timeout=60)
        stack.remove_everything()


def test_the_profile_starts_from_nothing_five_times_in_a_row(stack: PostgresStack) -> None:
    assert stack.cold_starts == ["ok"] * COLD_STARTS
    seeded = stack.run("ps", "-a", "--format", "{{.Service}} {{.State}}").stdout
    assert "models-seed exited" in seeded, f"the models volume is filled by its one seeding service:\n{seeded}"


def submit(http: requests.Session, url: str, customerid: str) -> requests.Response:
    record = {**LIKELY_CHURNER, "customerid": customerid, "email": f"{customerid.lower()}@example.com"}
    return http.post(f"{url}/api/customers", json=record, timeout=30)


def test_both_instances_share_one_database_one_offer_and_one_email(stack: PostgresStack) -> None:
    first, second = stack.instances
    answer = submit(stack.http, first, "PGC-1")
    assert answer.status_code == 200, answer.text
    offer = answer.json()["customers"][0]["offer"]
    listed = stack.http.get(f"{second}/api/customers", timeout=5).json()["customers"]
    assert [c["customerid"] for c in listed] == ["PGC-1"], "the other instance sees the same customers"
    again = submit(stack.http, second, "PGC-1").json()["customers"][0]["offer"]
    assert again["id"] == offer["id"], "one offer per customer across instances (the UNIQUE constraint)"
    wait_for(lambda: f"offer-{offer['id']}.eml" in stack.shared_mail(), timeout=60, what="the offer email")
    assert stack.shared_mail() == [f"offer-{offer['id']}.eml"]
    sent = stack.http.get(f"{first}/api/offers", timeout=5).json()["offers"]
    assert [(o["id"], o["status"]) for o in sent] == [(offer["id"], "sent")]


def test_duplicates_sent_to_both_instances_at_once_make_one_offer(stack: PostgresStack) -> None:
    http = stack.http  # its token made here, not by the pool's threads at once
    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(lambda n: submit(http, stack.instances[n % 2], "PGC-DUP"), range(20)))
    assert [a.status_code for a in answers] == [200] * 20
    assert len({a.json()["customers"][0]["offer"]["id"] for a in answers}) == 1
    assert stack.psql("SELECT COUNT(*) FROM offers WHERE customerid = 'PGC-DUP'") == "1"


def test_churn_runs_two_replicas_and_the_schema_was_migrated_once(stack: PostgresStack) -> None:
    replicas = stack.run("ps", "-q", "churn-replicas").stdout.split()
    assert len(replicas) == 2
    assert stack.psql("SELECT string_agg(version::text, ',') FROM schema_version") == str(VERSION)  # created at the latest
