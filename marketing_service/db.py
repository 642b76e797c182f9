"""SQLite storage: customers, their decisions and the offer outbox, shared safely by every worker.

WAL lets readers and one writer work at once; writes use BEGIN IMMEDIATE so two workers never both
read-then-upgrade; busy_timeout makes a locked database a wait, not an error.
"""
from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from marketing_service.schema import migrate


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class WriteQueue:
    """Where this service's writers, in every thread of every worker process, wait their turn.

    SQLite makes a writer that finds the database locked sleep in growing steps (up to 100 ms) and try
    again, while the process holding the lock hands it straight to its own next thread: under load one
    worker starved the other for seconds (and its page views queued behind its stuck threads). So threads
    of one process queue on a thread lock, and each process's one waiter blocks in flock(2) on a file
    beside the database: the kernel wakes it the moment the holder lets go, and frees the lock if the
    holder dies. Anything else writing the file (a sqlite3 shell) still meets SQLite's own busy timeout.
    """

    def __init__(self, db_path: Path):
        self.path = db_path.with_name(db_path.name + ".writers")
        self._threads = threading.Lock()
        self._fd: int | None = None
        self._pid = 0

    def _lock_file(self) -> int:
        if self._fd is None or self._pid != os.getpid():  # a forked child needs its own open file
            self._fd, self._pid = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644), os.getpid()
        return self._fd

    @contextmanager
    def turn(self, timeout_s: float) -> Iterator[None]:
        """Hold the queue; raises "database is locked" if this process's other writers take too long.
        Between processes the wait needs no limit of its own: a holder keeps its turn for one
        transaction, which its remaining busy timeout bounds (see `transaction`), and a dead holder's
        lock goes with it."""
        if not self._threads.acquire(timeout=timeout_s):
            busy = sqlite3.OperationalError("database is locked (waited for this process's other writers)")
            busy.sqlite_errorname = "SQLITE_BUSY"  # classified like SQLite's own (see app.storage_busy)
            raise busy
        try:
            fd = self._lock_file()
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()


class Connection(sqlite3.Connection):
    """A connection that knows the queue its writers wait in and its busy timeout (see `transaction`)."""

    dialect = "sqlite"  # see dialect.py
    write_queue: WriteQueue | None
    busy_timeout_ms: int
    give_back: Callable[[Connection], bool] | None = None  # set by a storage that keeps idle connections

    def close(self) -> None:
        """Back to the storage it came from when that takes it (see backends/sqlite.py); else closed."""
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
    """Create the file and tables; safe to run from every worker, and every instance, at once.

    The workers of one gunicorn master boot together and reach this together. Without a lock between
    them, SQLite answers one of two processes racing on a brand-new file "database is locked" at once,
    busy timeout or not (33 of 400 such races here); that worker fails to boot and gunicorn then stops
    the whole service. So initialisation takes turns on a lock file beside the database; the kernel
    releases it if its holder dies."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.with_name(path.name + ".init-lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        conn = connect(path, max(busy_timeout_ms, 5_000))
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA foreign_keys = OFF")  # a migration may rebuild a referenced table
            with transaction(conn):
                migrate(conn)
        finally:
            conn.close()
    finally:
        os.close(fd)  # closing the descriptor releases the lock


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any error.

    A connection with a write queue first waits its turn there, and that wait comes off SQLite's busy
    timeout: however many writers are ahead, a write gives up (503) within DB_BUSY_TIMEOUT_MS.
    Another back end's connection (backends/postgres.py) runs its own kind of transaction."""
    own_transaction = getattr(conn, "transaction", None)
    if own_transaction is not None:
        with own_transaction():
            yield conn
        return
    queue: WriteQueue | None = getattr(conn, "write_queue", None)
    if queue is None:
        with _immediate(conn):
            yield conn
        return
    budget_ms = conn.busy_timeout_ms
    deadline = time.monotonic() + budget_ms / 1000
    with queue.turn(budget_ms / 1000):
        conn.execute(f"PRAGMA busy_timeout = {max(0, int((deadline - time.monotonic()) * 1000))}")
        try:
            with _immediate(conn):
                yield conn
        finally:
            conn.execute(f"PRAGMA busy_timeout = {budget_ms}")


@contextmanager
def _immediate(conn: sqlite3.Connection) -> Iterator[None]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
