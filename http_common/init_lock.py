"""Taking turns to create a shared SQLite file: the workers of one gunicorn master boot together.

Without a lock between them, SQLite answers one of two processes racing on a brand-new file "database is
locked" at once, busy timeout or not (changing the journal mode to WAL does not wait): that worker fails to
boot and gunicorn then stops the whole service. Both services' SQLite files (marketing's database, churn's
shadow store) are created inside `taking_turns`, on a lock file beside them; the kernel releases it if its
holder dies.
"""
from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def taking_turns(database: Path) -> Iterator[None]:
    """Hold an exclusive flock(2) on `<database>.init-lock` for the block."""
    fd = os.open(database.with_name(database.name + ".init-lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
