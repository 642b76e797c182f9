"""The SQLite storage: the file, its write queue and its migrations, exactly as `db.py` does them."""
from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

from marketing_service import db
from marketing_service.group_commit import GroupCommitter

BUSY_ERRORS = ("SQLITE_BUSY", "SQLITE_LOCKED")  # and their extended codes, e.g. SQLITE_BUSY_SNAPSHOT
IDLE_MAX = 16  # idle connections kept per process: more than a worker's threads


class SqliteStorage:
    dialect = "sqlite"
    error_type = sqlite3.OperationalError

    def __init__(self, path: Path, busy_timeout_ms: int):
        self.path, self.busy_timeout_ms = path, busy_timeout_ms
        self.write_queue = db.WriteQueue(path)
        # Request writes go through the process's group committer; background writes keep their own transactions.
        self.committer = GroupCommitter(lambda: db.connect(path, busy_timeout_ms, self.write_queue),
                                        busy_timeout_ms / 1000)
        self._idle: list[db.Connection] = []
        self._idle_lock = threading.Lock()
        self._pid = os.getpid()

    def init_db(self) -> None:
        db.init_db(self.path, self.busy_timeout_ms)

    def connect(self) -> db.Connection:
        """An idle connection of this process, or a new one. Opening one (the file, its WAL index, the schema)
        cost about 0.5 ms, as much as the rest of a submission's database work, so `close()` keeps it."""
        with self._idle_lock:
            if self._pid != os.getpid():  # a forked child must not use its parent's connections
                self._idle, self._pid = [], os.getpid()
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = db.connect(self.path, self.busy_timeout_ms, self.write_queue)
            conn.committer, conn.give_back = self.committer, self._give_back
        return conn

    def _give_back(self, conn: db.Connection) -> bool:
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
