"""The SQLite back end (the embedded default): the file, its connections and their transactions, shared safely
by every thread of every worker.

WAL lets readers and one writer work at once; writes use BEGIN IMMEDIATE so two workers never both
read-then-upgrade; busy_timeout makes a locked database a wait, not an error. Writers queue on a
`WriteQueue` first, and request writes go through the process's group committer (group_commit.py).
"""
from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from http_common.init_lock import taking_turns
from marketing_service.storage.group_commit import GroupCommitter
from marketing_service.storage.protocol import Connection as AnyConnection
from marketing_service.storage.sqlite_schema import migrate
from marketing_service.storage.write_queue import WriteQueue

T = TypeVar("T")
BUSY_ERRORS = ("SQLITE_BUSY", "SQLITE_LOCKED")  # and their extended codes, e.g. SQLITE_BUSY_SNAPSHOT
IDLE_MAX = 16  # idle connections kept per process: more than a worker's threads


class Connection(sqlite3.Connection):
    """A connection that knows the queue its writers wait in, its busy timeout and its storage's committer."""

    dialect = "sqlite"
    write_queue: WriteQueue | None = None
    busy_timeout_ms: int = 15_000
    committer: GroupCommitter | None = None
    give_back: Callable[[Connection], bool] | None = None  # set by a storage that keeps idle connections

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back on any error.

        A connection with a write queue first waits its turn there, and that wait comes off SQLite's busy
        timeout: however many writers are ahead, a write gives up (503) within DB_BUSY_TIMEOUT_MS."""
        if self.write_queue is None:
            with self._immediate():
                yield self
            return
        budget_ms = self.busy_timeout_ms
        deadline = time.monotonic() + budget_ms / 1000
        with self.write_queue.turn(budget_ms / 1000):
            self.execute(f"PRAGMA busy_timeout = {max(0, int((deadline - time.monotonic()) * 1000))}")
            try:
                with self._immediate():
                    yield self
            finally:
                self.execute(f"PRAGMA busy_timeout = {budget_ms}")

    @contextmanager
    def _immediate(self) -> Iterator[None]:
        self.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.execute("ROLLBACK")
            raise
        self.execute("COMMIT")

    def write(self, work: Callable[[AnyConnection], T]) -> T:
        """Through the process's group committer when the storage gave one (under gunicorn), else alone."""
        if self.committer is not None:
            return self.committer.run(work)
        with self.transaction():
            return work(self)

    def close(self) -> None:
        """Back to the storage it came from when that takes it; else closed."""
        if self.give_back is None or not self.give_back(self):
            super().close()


def connect(path: Path, busy_timeout_ms: int = 15_000, write_queue: WriteQueue | None = None) -> Connection:
    """A connection that waits up to busy_timeout_ms for a lock held elsewhere before it gives up."""
    conn = sqlite3.connect(path, timeout=busy_timeout_ms / 1000, isolation_level=None, check_same_thread=False,
                           factory=Connection)
    conn.write_queue, conn.busy_timeout_ms = write_queue, int(busy_timeout_ms)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = FULL")  # an accepted record survives a power cut too
    return conn


def init_db(path: Path, busy_timeout_ms: int = 15_000) -> None:
    """Create the file and tables; safe to run from every worker, and every instance, at once: the workers of
    one gunicorn master boot together, so they take turns (http_common/init_lock.py; without it 33 of 400
    races here failed a worker's boot)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with taking_turns(path):
        conn = connect(path, max(busy_timeout_ms, 5_000))
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA foreign_keys = OFF")  # a migration may rebuild a referenced table
            with conn.transaction():
                migrate(conn)
        finally:
            conn.close()


class SqliteStorage:
    dialect = "sqlite"
    error_type = sqlite3.OperationalError

    def __init__(self, path: Path, busy_timeout_ms: int):
        self.path, self.busy_timeout_ms = path, busy_timeout_ms
        self.write_queue = WriteQueue(path)
        # Request writes go through the process's group committer; background writes keep their own transactions.
        self.committer = GroupCommitter(lambda: connect(path, busy_timeout_ms, self.write_queue), busy_timeout_ms / 1000)
        self._idle: list[Connection] = []
        self._idle_lock = threading.Lock()
        self._pid = os.getpid()

    def init_db(self) -> None:
        init_db(self.path, self.busy_timeout_ms)

    def connect(self) -> Connection:
        """An idle connection of this process, or a new one. Opening one (the file, its WAL index, the schema)
        cost about 0.5 ms, as much as the rest of a submission's database work, so `close()` keeps it."""
        with self._idle_lock:
            if self._pid != os.getpid():  # a forked child must not use its parent's connections
                self._idle, self._pid = [], os.getpid()
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = connect(self.path, self.busy_timeout_ms, self.write_queue)
            conn.committer, conn.give_back = self.committer, self._give_back
        return conn

    def _give_back(self, conn: Connection) -> bool:
        """Keep a connection closed by its user, unless it is mid-transaction (then it really closes)."""
        if conn.in_transaction:
            return False
        with self._idle_lock:
            if self._pid != os.getpid() or len(self._idle) >= IDLE_MAX:
                return False
            self._idle.append(conn)
            return True

    def is_busy(self, exc: Exception) -> bool:
        """Locked past the busy timeout; other operational errors (a broken file) are not retryable."""
        return (getattr(exc, "sqlite_errorname", None) or "").startswith(BUSY_ERRORS)

    def close(self) -> None:
        """Close the idle connections; those in use close when their users close them."""
        with self._idle_lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.give_back = None
            conn.close()
