"""What the test modules share (they never import each other); the servers and paths come from `harness`,
which the benchmarks use too."""
from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from harness import DATA, REPO
from harness.servers import RUNNING, Gunicorn, free_port, rss_kib, run_train, worker_pids

SCREENSHOTS = REPO / "test-artifacts" / "screenshots"  # what the browser tests saw, kept for people
__all__ = ["DATA", "REPO", "RUNNING", "SCREENSHOTS", "Gunicorn", "Marketing", "count", "customer", "free_port", "rss_kib",
           "run_schemathesis", "run_train", "wait_for", "worker_pids"]


class Marketing(Gunicorn):
    """The marketing service with its own fresh database and mail folder under a temp dir."""

    def __init__(self, tmp: Path, churn_url: str, extra: dict[str, str] | None = None, workers: int = 2):
        self.db_path, self.mail_dir = tmp / "marketing.db", tmp / "mail"
        env = {"CHURN_URL": churn_url, "MARKETING_DB": str(self.db_path), "MAIL_DIR": str(self.mail_dir),
               "POLL_INTERVAL": "0.2", "CHURN_READ_TIMEOUT": "2", **(extra or {})}
        super().__init__("marketing_service", env, workers=workers)

    def emails(self) -> list[Path]:
        return sorted(self.mail_dir.glob("offer-*.eml")) if self.mail_dir.exists() else []


def customer(base: dict, customerid: str, name: str = "Ann Lee") -> dict:
    return dict(base, customerid=customerid, email=f"{customerid.lower()}@example.com", name=name)


def wait_for(condition: Callable[[], object], timeout: float = 15, what: str = "condition") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def count(db: Path, sql: str, *args: object) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, args).fetchone()[0]


CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


def run_schemathesis(base_url: str, seconds: int = 30, examples: int = 100) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "schemathesis.cli", "run", f"{base_url}/openapi.json", "--checks", CHECKS,
         "--max-examples", str(examples), "--max-time", str(seconds), "--seed", "1",
         "--generation-database", "none", "--no-color", "--workers", "1", "--request-timeout", "10"],
        capture_output=True, text=True, timeout=seconds * 4 + 60,
    )
