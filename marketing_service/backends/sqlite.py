"""The SQLite storage: the file, its write queue and its migrations, exactly as `db.py` does them."""
from __future__ import annotations

import sqlite3
from pathlib import Path

from marketing_service import db
from marketing_service.group_commit import GroupCommitter

BUSY_ERRORS = ("SQLITE_BUSY", "SQLITE_LOCKED")  # and their extended codes, e.g. SQLITE_BUSY_SNAPSHOT


class SqliteStorage:
    dialect = "sqlite"
    error_type = sqlite3.OperationalError

    def __init__(self, path: Path, busy_timeout_ms: int):
        self.path, self.busy_timeout_ms = path, busy_timeout_ms
        self.write_queue = db.WriteQueue(path)
        # Request writes go through the process's group committer; background writes keep their own transactions.
        self.committer = GroupCommitter(lambda: db.connect(path, busy_timeout_ms, self.write_queue),
                                        busy_timeout_ms / 1000)

    def init_db(self) -> None:
        db.init_db(self.path, self.busy_timeout_ms)

    def connect(self) -> db.Connection:
        conn = db.connect(self.path, self.busy_timeout_ms, self.write_queue)
        conn.committer = self.committer
        return conn

    def is_busy(self, exc: Exception) -> bool:
        """Locked past the busy timeout; other operational errors (a broken file) are not retryable."""
        return (getattr(exc, "sqlite_errorname", None) or "").startswith(BUSY_ERRORS)

    def close(self) -> None:
        """Nothing held: every connection is opened and closed by its user."""
