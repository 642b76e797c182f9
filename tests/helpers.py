"""What the test modules share (they never import each other); the servers and paths come from `harness`,
which the benchmarks use too."""
from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Collection
from email.parser import BytesHeaderParser
from email.utils import parseaddr
from functools import cached_property
from pathlib import Path

import psycopg
import requests

from harness import DATA, REPO
from harness.servers import RUNNING, Gunicorn, free_port, rss_kib, run_train, worker_pids
from marketing_service.auth.tokens import create_token
from marketing_service.config import MarketingConfig
from marketing_service.storage import open_storage
from marketing_service.storage.postgres import to_pyformat

SCREENSHOTS = REPO / "test-artifacts" / "screenshots"  # what the browser tests saw, kept for people
__all__ = ["ADMIN_PASSWORD", "DATA", "REPO", "RUNNING", "SCREENSHOTS", "Gunicorn", "Marketing", "api_token", "count",
           "customer", "fetch_all", "free_port", "registry_copy", "rss_kib", "run_schemathesis", "run_train", "wait_for",
           "worker_pids"]


SHARED_SECRET = "a-test-secret-shared-by-every-instance"
ADMIN_PASSWORD = "admin-password-of-the-tests"  # MARKETING_ADMIN_PASSWORD of every test's marketing


def api_token(db: str | Path, role: str = "admin", name: str | None = None) -> str:
    """A bearer token on a marketing database (a SQLite file or a PostgreSQL URL), made by the code behind
    `python -m marketing_service tokens create` (tests/integration/test_sign_in.py runs the command itself)."""
    config = MarketingConfig(db_url=str(db)) if is_postgres(db) else MarketingConfig(db_path=Path(db))
    storage = open_storage(config)
    conn = storage.connect()
    try:
        return create_token(conn, name or f"tests-{role}-{uuid.uuid4().hex[:8]}", role, "tests")
    finally:
        conn.close()
        storage.close()


class Marketing(Gunicorn):
    """The marketing service with its own mail folder under a temp dir, on a fresh database: by default a
    SQLite file there, or `db`, a `postgresql://` URL (tests/integration/conftest.py `new_db`)."""

    def __init__(self, tmp: Path, churn_url: str, extra: dict[str, str] | None = None, workers: int = 2,
                 db: str | None = None):
        self.db_path, self.mail_dir = tmp / "marketing.db", tmp / "mail"
        self.db = db or str(self.db_path)  # what `count` and `fetch_all` read, whichever the back end
        postgres = {"SECRET_KEY": SHARED_SECRET} if is_postgres(self.db) else {}
        env = {"CHURN_URL": churn_url, "MARKETING_DB": self.db, "MAIL_DIR": str(self.mail_dir),
               "POLL_INTERVAL": "0.2", "CHURN_READ_TIMEOUT": "2", "MARKETING_ADMIN_PASSWORD": ADMIN_PASSWORD,
               **postgres, **(extra or {})}
        super().__init__("marketing_service", env, workers=workers)
        self.env.setdefault("PUBLIC_URL", self.url)  # unsubscribe links point where this one is reached

    @cached_property
    def http(self) -> requests.Session:
        """Requests as an admin's script makes them (a bearer token); plain `requests` calls are anonymous."""
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {api_token(self.db)}"
        return session

    def emails(self, to: str | Collection[str] | None = None) -> list[Path]:
        """The offer emails written so far; with `to`, only those to that address (or any of those, in any
        case): a server shared by a module's tests holds the others' mail too."""
        found = sorted(self.mail_dir.glob("offer-*.eml")) if self.mail_dir.exists() else []
        if to is None:
            return found
        wanted = {to.lower()} if isinstance(to, str) else {address.lower() for address in to}
        return [path for path in found if recipient(path).lower() in wanted]


def recipient(eml: Path) -> str:
    with eml.open("rb") as f:
        return parseaddr(BytesHeaderParser().parse(f)["To"] or "")[1]


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


def registry_copy(root: Path, target: Path, current: str | None = None, shadow: str | None = None) -> Path:
    """A copy of a model registry at `target`, optionally serving `current` and shadow-scoring `shadow`: tests
    change their copy, never a registry another test shares."""
    shutil.copytree(root, target)
    if current is not None:
        (target / "CURRENT").write_text(current + "\n")
    if shadow is not None:
        (target / "SHADOW").write_text(shadow + "\n")
    return target


def is_postgres(db: str | Path) -> bool:
    return str(db).startswith("postgresql://")


def fetch_all(db: str | Path, sql: str, *args: object) -> list[tuple]:
    """Rows of a query, written once with `?` placeholders, from a SQLite file or a PostgreSQL URL."""
    if is_postgres(db):
        with psycopg.connect(str(db), autocommit=True) as pg:
            return [tuple(r) for r in pg.execute(to_pyformat(sql), args).fetchall()]
    with sqlite3.connect(db) as conn:
        return [tuple(r) for r in conn.execute(sql, args).fetchall()]


def count(db: str | Path, sql: str, *args: object) -> int:
    return fetch_all(db, sql, *args)[0][0]


CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


def run_schemathesis(base_url: str, seconds: int = 30, examples: int = 100,
                     token: str = "") -> subprocess.CompletedProcess[str]:
    """The fuzzer over the service's own OpenAPI document; with `token`, as a script with that bearer token."""
    auth = ["--header", f"Authorization: Bearer {token}"] if token else []
    return subprocess.run(
        [sys.executable, "-m", "schemathesis.cli", "run", f"{base_url}/openapi.json", *auth, "--checks", CHECKS,
         "--max-examples", str(examples), "--max-time", str(seconds), "--seed", "1",
         "--generation-database", "none", "--no-color", "--workers", "1", "--request-timeout", "10"],
        capture_output=True, text=True, timeout=seconds * 4 + 60,
    )
