"""Where SQLite writers, in every thread of every worker process, wait their turn (see `WriteQueue`)."""
from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def busy_error(message: str) -> sqlite3.OperationalError:
    """A "database is locked" of our own, classified like SQLite's (a retryable 503, see `SqliteStorage.is_busy`)."""
    busy = sqlite3.OperationalError(message)
    busy.sqlite_errorname = "SQLITE_BUSY"
    return busy


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
            raise busy_error("database is locked (waited for this process's other writers)")
        try:
            fd = self._lock_file()
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()
