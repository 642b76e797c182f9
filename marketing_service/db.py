"""SQLite storage: customers, their decisions and the offer outbox, shared safely by every worker.

WAL lets readers and one writer work at once; writes use BEGIN IMMEDIATE so two workers never both
read-then-upgrade; busy_timeout makes a locked database a wait, not an error.
"""
from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BUSY_LOCK_WAIT_S = 30.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS customers (
    customerid       TEXT PRIMARY KEY,
    name             TEXT NOT NULL DEFAULT '',
    email            TEXT NOT NULL,
    features         TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'scored')),
    churn_probability REAL,
    churn            INTEGER,
    model_version    TEXT,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  REAL NOT NULL DEFAULT 0,
    claimed_until    REAL NOT NULL DEFAULT 0,
    last_error       TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS customers_pending ON customers (status, next_attempt_at);
CREATE INDEX IF NOT EXISTS customers_recent ON customers (updated_at);
CREATE TABLE IF NOT EXISTS decisions (
    id               INTEGER PRIMARY KEY,
    customerid       TEXT NOT NULL REFERENCES customers (customerid),
    churn_probability REAL NOT NULL,
    churn            INTEGER NOT NULL,
    model_version    TEXT NOT NULL,
    decided_at       TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS offers (
    id               INTEGER PRIMARY KEY,
    customerid       TEXT NOT NULL REFERENCES customers (customerid),
    campaign         TEXT NOT NULL,
    to_addr          TEXT NOT NULL,
    subject          TEXT NOT NULL,
    body             TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  REAL NOT NULL DEFAULT 0,
    claimed_until    REAL NOT NULL DEFAULT 0,
    last_error       TEXT,
    created_at       TEXT NOT NULL,
    sent_at          TEXT,
    UNIQUE (customerid, campaign)
);
CREATE INDEX IF NOT EXISTS offers_due ON offers (status, next_attempt_at);
"""


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class Connection(sqlite3.Connection):
    """A connection that knows the lock this process's writers queue on (see `transaction`)."""

    write_lock: threading.Lock


def connect(path: Path, busy_timeout_ms: int = 15_000, write_lock: threading.Lock | None = None) -> Connection:
    """A connection that waits up to busy_timeout_ms for a lock held elsewhere before it gives up."""
    conn = sqlite3.connect(path, timeout=busy_timeout_ms / 1000, isolation_level=None, check_same_thread=False,
                           factory=Connection)
    conn.write_lock = write_lock or threading.Lock()
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = FULL")  # an accepted record survives a power cut too
    return conn


def init_db(path: Path, busy_timeout_ms: int = 15_000) -> None:
    """Create the file and tables; safe to run from every worker at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = connect(path, max(busy_timeout_ms, 5_000))
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        with transaction(conn):
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
    finally:
        conn.close()


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any error.

    Writers of one process first queue on a Python lock: SQLite's own busy handler waits by sleeping in
    growing steps (up to 100 ms), which turned lock contention between threads into a long latency tail.
    Between processes SQLite's locking still decides."""
    lock = getattr(conn, "write_lock", None)
    if lock is not None and not lock.acquire(timeout=BUSY_LOCK_WAIT_S):
        raise sqlite3.OperationalError("database is locked (waited for this process's other writers)")
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    finally:
        if lock is not None:
            lock.release()
