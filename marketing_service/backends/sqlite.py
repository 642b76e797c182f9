"""The SQLite storage: the file, its write queue and its migrations, exactly as `db.py` does them."""
from __future__ import annotations

import sqlite3
from pathlib import Path

from marketing_service import db

BUSY_ERRORS = ("SQLITE_BUSY", "SQLITE_LOCKED")  # and their extended codes, e.g. SQLITE_BUSY_SNAPSHOT


class SqliteStorage:
    dialect = "sqlite"
    error_type = sqlite3.OperationalError

    def __init__(self, path: Path, busy_timeout_ms: int):
        self.path, self.busy_timeout_ms = path, busy_timeout_ms
        self.write_queue = db.WriteQueue(path)

    def init_db(self) -> None:
        db.init_db(self.path, self.busy_timeout_ms)

    def connect(self) -> db.Connection:
        return db.connect(self.path, self.busy_timeout_ms, self.write_queue)

    def is_busy(self, exc: Exception) -> bool:
        """Locked past the busy timeout; other operational errors (a broken file) are not retryable."""
        return (getattr(exc, "sqlite_errorname", None) or "").startswith(BUSY_ERRORS)

    def close(self) -> None:
        """Nothing held: every connection is opened and closed by its user."""
