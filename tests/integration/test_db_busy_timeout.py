"""DB_BUSY_TIMEOUT_MS means one thing on both back ends (issue 26): how long a write waits for another
writer's lock before it gives up with a retryable error (a 503), and on PostgreSQL also how long a request
waits for a pooled connection. Shown against a real lock held by another connection on each."""
from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from marketing_service.config import MarketingConfig
from marketing_service.storage import Storage, now_iso, open_storage

BACKENDS = ("sqlite", "postgres")
BUDGET_MS = 300


@pytest.fixture
def storage(new_db: Callable[..., str]) -> Iterator[Storage]:
    db = new_db()
    config = (MarketingConfig(db_url=db, db_busy_timeout_ms=BUDGET_MS, db_pool_size=2) if db.startswith("postgresql")
              else MarketingConfig(db_path=Path(db), db_busy_timeout_ms=BUDGET_MS))
    opened = open_storage(config)
    opened.init_db()
    conn = opened.connect()
    try:
        with conn.transaction():
            conn.execute("INSERT INTO campaigns (id, name, status, settings, created_at, updated_at)"
                         " VALUES (1, 'held', 'queued', '{}', ?, ?)", (now_iso(), now_iso()))
    finally:
        conn.close()
    yield opened
    opened.close()


def gives_up_after(storage: Storage, write: Callable[[], object]) -> float:
    started = time.monotonic()
    with pytest.raises(storage.error_type) as refused:
        write()
    assert storage.is_busy(refused.value), refused.value
    return time.monotonic() - started


def test_a_write_blocked_by_another_writer_gives_up_after_the_budget(storage: Storage) -> None:
    holder: sqlite3.Connection | psycopg.Connection
    if storage.dialect == "postgresql":
        holder = psycopg.connect(getattr(storage, "url"))  # noqa: B009 - PostgresStorage's, not the protocol's
        holder.execute("SELECT id FROM campaigns WHERE id = 1 FOR UPDATE")  # a transaction holding the row
    else:
        holder = sqlite3.connect(getattr(storage, "path"), isolation_level=None)  # noqa: B009 - SqliteStorage's
        holder.execute("BEGIN IMMEDIATE")  # the one write lock
    conn = storage.connect()
    try:
        def write() -> None:
            with conn.transaction():
                conn.execute("UPDATE campaigns SET name = 'waited' WHERE id = 1")

        waited = gives_up_after(storage, write)
    finally:
        conn.close()
        holder.rollback()
        holder.close()
    assert BUDGET_MS / 1000 * 0.9 <= waited < BUDGET_MS / 1000 + 0.7, waited


@pytest.mark.backends("postgres")
def test_on_postgres_waiting_for_a_pooled_connection_has_the_same_budget(storage: Storage) -> None:
    borrowed = [storage.connect() for _ in range(2)]  # db_pool_size: every connection of the pool in use
    for conn in borrowed:
        conn.execute("SELECT 1")
    late = storage.connect()
    try:
        waited = gives_up_after(storage, lambda: late.execute("SELECT 1"))
    finally:
        for conn in [*borrowed, late]:
            conn.close()
    assert BUDGET_MS / 1000 * 0.9 <= waited < BUDGET_MS / 1000 + 0.7, waited
