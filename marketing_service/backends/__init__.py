"""Where marketing keeps its data: SQLite (a file path, the embedded default) or PostgreSQL (a
`postgresql://` URL, DESIGN §9), behind one face so the rest of the service keeps one set of SQL.

A storage makes connections that both answer `execute`/`executemany` with rows readable by position and by
name, and run `db.transaction(conn)` as their kind of write transaction; `dialect.py` holds the few SQL
words that differ. Nothing here connects at import: `open_storage` is called by the app factory.
"""
from __future__ import annotations

from typing import Any, Protocol

from marketing_service.config import MarketingConfig


class Storage(Protocol):
    dialect: str
    error_type: type[Exception]  # the operational errors the app maps (see `is_busy`)

    def init_db(self) -> None:
        """Create or migrate the schema; safe with every worker of every instance starting at once."""

    def connect(self) -> Any:
        """A connection for one request or one background loop; give it back with `close()`."""

    def is_busy(self, exc: Exception) -> bool:
        """A transient storage failure (locked, pool exhausted, lock timeout): a retryable 503, nothing saved."""

    def close(self) -> None:
        """Release what the storage holds (a pool's connections)."""


def open_storage(config: MarketingConfig) -> Storage:
    if config.db_url:
        from marketing_service.backends.postgres import PostgresStorage  # psycopg only where it is used

        return PostgresStorage(config.db_url, config.db_busy_timeout_ms, config.db_pool_size)
    from marketing_service.backends.sqlite import SqliteStorage

    return SqliteStorage(config.db_path, config.db_busy_timeout_ms)
