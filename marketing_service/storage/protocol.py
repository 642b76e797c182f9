"""The typed face every back end's connection shows: what the rest of marketing may call on a connection.

Both back ends satisfy it (mypy checks it, in `make lint`): SQLite's `sqlite.Connection`, a sqlite3.Connection
that knows its write queue and group committer, and PostgreSQL's `postgres.PgConnection`, a pool borrower that
takes the same SQL. Rows read by position and by column name, as sqlite3.Row does.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """One borrower's connection; `close()` gives it back to its storage."""

    dialect: str  # "sqlite" or "postgresql": the few SQL words that differ (dialect.py)

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Cursor: ...

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Cursor: ...

    def transaction(self) -> AbstractContextManager[Any]:
        """A write transaction of the back end's kind, committed on leaving, rolled back on any error."""

    def write(self, work: Callable[[Connection], T]) -> T:
        """`work(conn)` in a committed transaction (on SQLite, shared with other requests' writes: the group
        committer's connection is the one `work` receives); its value once durable, or its exception."""

    def close(self) -> None: ...


class Storage(Protocol):
    """One worker's storage: made by `open_storage` in the app factory, nothing connects at import."""

    dialect: str

    @property
    def error_type(self) -> type[Exception]:
        """The operational errors the app maps (see `is_busy`)."""

    def init_db(self) -> None:
        """Create or migrate the schema; safe with every worker of every instance starting at once."""

    def connect(self) -> Connection:
        """A connection for one request or one background loop; give it back with `close()`."""

    def is_busy(self, exc: Exception) -> bool:
        """A transient storage failure (locked, pool exhausted, lock timeout): a retryable 503, nothing saved."""

    def close(self) -> None:
        """Release what the storage holds (a pool's connections)."""
