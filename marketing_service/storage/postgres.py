"""The PostgreSQL storage (MARKETING_DB=postgresql://...): a psycopg 3 connection pool per worker process,
and connections that take the service's SQL as it is written for SQLite.

The adapter is thin on purpose: `?` placeholders become `%s`, rows read by position and by column name like
sqlite3.Row, and `conn.transaction()` is a plain PostgreSQL transaction. What SQLite gets from
serialising writers, PostgreSQL gets from row locks (`dialect.py`: claims `FOR UPDATE SKIP LOCKED`) and the
UNIQUE constraints, which hold across every worker of every instance. `PgConnection` satisfies the storage's
`Connection` protocol as SQLite's connection does.
"""
from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
from psycopg_pool import ConnectionPool

from marketing_service.storage.postgres_schema import migrate
from marketing_service.storage.protocol import Connection

log = logging.getLogger(__name__)
T = TypeVar("T")


class Row(tuple):
    """A row readable as row[0] and row["name"], and by dict(row), as sqlite3.Row is."""

    _index: dict[str, int]

    def __new__(cls, values: Sequence[Any], index: dict[str, int]) -> Row:
        row = super().__new__(cls, values)
        row._index = index
        return row

    def __getitem__(self, key: Any) -> Any:
        return tuple.__getitem__(self, self._index[key] if isinstance(key, str) else key)

    def keys(self) -> list[str]:
        return list(self._index)


def rows(cursor: psycopg.Cursor[Any]) -> Callable[[Sequence[Any]], Row]:
    """psycopg row factory for `Row`."""
    index = {column.name: i for i, column in enumerate(cursor.description or ())}
    return lambda values: Row(values, index)


@functools.lru_cache(maxsize=512)
def to_pyformat(sql: str) -> str:
    """`?` -> `%s` and a literal `%` -> `%%`, outside quoted strings ('...' and "...")."""
    out, quote = [], ""
    for ch in sql:
        if quote:
            quote = "" if ch == quote else quote
            out.append("%%" if ch == "%" else ch)
        elif ch in "'\"":
            quote = ch
            out.append(ch)
        else:
            out.append("%s" if ch == "?" else "%%" if ch == "%" else ch)
    return "".join(out)


class PgConnection:
    """One borrower of the pool: takes a connection at first use and gives it back at `close()`; a connection
    the server dropped (a restart) goes back broken, and the next statement gets a fresh one."""

    dialect = "postgresql"

    def __init__(self, pool: ConnectionPool, timeout_s: float):
        self._pool, self._timeout_s = pool, timeout_s
        self._raw: psycopg.Connection[Any] | None = None

    def _conn(self) -> psycopg.Connection[Any]:
        if self._raw is not None and self._raw.broken:
            self.close()
        if self._raw is None:
            self._raw = self._pool.getconn(timeout=self._timeout_s)  # PoolTimeout: an OperationalError -> 503
        return self._raw

    def execute(self, sql: str, params: Sequence[Any] = ()) -> psycopg.Cursor[Any]:
        return self._conn().execute(to_pyformat(sql), tuple(params))

    def executemany(self, sql: str, seq: Iterable[Sequence[Any]]) -> psycopg.Cursor[Any]:
        cursor = self._conn().cursor()
        params = [tuple(p) for p in seq]
        if len(params) == 1:  # psycopg's executemany sets up a pipeline: for one row, more work than the row
            cursor.execute(to_pyformat(sql), params[0])
        elif params:
            cursor.executemany(to_pyformat(sql), params)
        return cursor

    @contextmanager
    def transaction(self) -> Iterator[PgConnection]:
        """BEGIN ... COMMIT (ROLLBACK on any error); the caller answers only after it returns."""
        with self._conn().transaction():
            yield self

    def write(self, work: Callable[[Connection], T]) -> T:
        """`work` in a transaction of its own: PostgreSQL runs writers side by side, nothing to group."""
        with self.transaction():
            return work(self)

    def close(self) -> None:
        if self._raw is not None:
            raw, self._raw = self._raw, None
            self._pool.putconn(raw)


class PostgresStorage:
    dialect = "postgresql"
    error_type = psycopg.OperationalError

    def __init__(self, url: str, busy_timeout_ms: int, pool_size: int):
        self.url, self.busy_timeout_ms = url, busy_timeout_ms
        self.pool = ConnectionPool(url, min_size=1, max_size=pool_size, open=False, name="marketing",
                                   kwargs={"autocommit": True, "row_factory": rows}, configure=self._configure,
                                   check=ConnectionPool.check_connection, timeout=busy_timeout_ms / 1000)
        self.pool.open(wait=False)

    def _configure(self, conn: psycopg.Connection[Any]) -> None:
        # DB_BUSY_TIMEOUT_MS means here what it means on SQLite (tests/integration/test_db_busy_timeout.py): how
        # long a write waits for another writer's lock before it gives up, then a 503. SQLite's one write lock is
        # taken once per transaction; here each row lock a statement waits for gets the budget (lock_timeout), and
        # so does waiting for a pooled connection (the pool's timeout), the one wait SQLite has no counterpart of.
        conn.execute(f"SET lock_timeout = {int(self.busy_timeout_ms)}")

    def init_db(self) -> None:
        """Every worker of every instance runs this at start; `migrate` serialises them on an advisory lock."""
        conn = self.connect()
        try:
            with conn.transaction():
                migrate(conn)
        finally:
            conn.close()

    def connect(self) -> PgConnection:
        return PgConnection(self.pool, self.busy_timeout_ms / 1000)

    def is_busy(self, exc: Exception) -> bool:
        """Pool exhausted, lock timeout, deadlock, server gone or restarting: all transient, all rolled back."""
        return isinstance(exc, psycopg.OperationalError)

    def close(self) -> None:
        self.pool.close()
