"""Group commit: one writer thread per process commits many requests' writes in one SQLite transaction.

Every accepted submission must be committed (fsync'd) before it is answered (DESIGN §5). With a transaction
per request, the writers of both workers queued for the one write lock, and under load a thread holding it
was often not even scheduled: the lock, not the disk, capped throughput. Here request threads hand their
write to their process's committer and wait; the committer takes everything queued, runs each in a
SAVEPOINT of one BEGIN IMMEDIATE … COMMIT (a write that fails rolls back alone), and only after COMMIT
wakes the requests with their results. Nothing is answered before it is durable, a crash loses only
unanswered writes, and a write that could not start before its deadline is cancelled, so a 503 still means
nothing was saved.
"""
from __future__ import annotations

import logging
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from marketing_service.storage.protocol import Connection
from marketing_service.storage.write_queue import busy_error

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_GROUP = 64  # writes per transaction: enough to drain a burst, small enough to keep each commit short


class _Write:
    """One request's write, its outcome, and whether it may still run (see `GroupCommitter.run`)."""

    def __init__(self, work: Callable[[Connection], Any], deadline: float):
        self.work, self.deadline = work, deadline
        self.done, self.lock = threading.Event(), threading.Lock()
        self.started = self.cancelled = False
        self.value: Any = None
        self.error: BaseException | None = None


class Committing(Connection, Protocol):
    """The committer's own connection (sqlite.Connection): its busy timeout is lent to each group."""

    busy_timeout_ms: int


class GroupCommitter:
    """The committer of one process; made in the app factory, its thread started by the first write."""

    def __init__(self, connect: Callable[[], Committing], timeout_s: float):
        self.connect, self.timeout_s = connect, timeout_s
        self._queue: queue.SimpleQueue[_Write] = queue.SimpleQueue()
        self._pid = 0
        self._start_lock = threading.Lock()
        self.commits = 0  # transactions committed, for the tests and the debug log

    def run(self, work: Callable[[Connection], T]) -> T:
        """`work(conn)` inside a committed transaction; its value once committed, or its exception."""
        self._ensure_thread()
        write = _Write(work, time.monotonic() + self.timeout_s)
        self._queue.put(write)
        if not write.done.wait(self.timeout_s):
            with write.lock:
                if not write.started:
                    write.cancelled = True
                    raise busy_error("database is locked (the write waited too long for its turn)")
            write.done.wait()  # it is running: its group gives up by the earliest deadline in it
        if write.error is not None:
            raise write.error
        return write.value

    def _ensure_thread(self) -> None:
        if self._pid == os.getpid():
            return
        with self._start_lock:  # a forked child needs its own thread (and queue)
            if self._pid != os.getpid():
                self._queue = queue.SimpleQueue()
                threading.Thread(target=self._loop, name="group-commit", daemon=True).start()
                self._pid = os.getpid()

    def _loop(self) -> None:
        while True:
            try:
                conn = self.connect()
                break
            except sqlite3.Error:  # the writes wait (and time out as 503s) until the file opens again
                log.exception("group commit cannot open the database; retrying in 1 s")
                time.sleep(1)
        while True:
            group = [self._queue.get()]
            while len(group) < MAX_GROUP:
                try:
                    group.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._commit(conn, group)

    def _commit(self, conn: Committing, group: list[_Write]) -> None:
        runnable = []
        for write in group:
            with write.lock:
                if not write.cancelled:
                    write.started = True
                    runnable.append(write)
        if not runnable:
            return
        started = time.monotonic()
        # The group waits for the write lock no longer than its most pressed caller may wait in all.
        budget_ms, conn.busy_timeout_ms = conn.busy_timeout_ms, max(1, int((min(w.deadline for w in runnable)
                                                                             - started) * 1000))
        try:
            with conn.transaction():
                for write in runnable:
                    conn.execute("SAVEPOINT one_write")
                    try:
                        write.value = write.work(conn)
                    except Exception as exc:  # noqa: BLE001 - handed to the request that asked for it
                        conn.execute("ROLLBACK TO one_write")
                        write.error = exc
                    conn.execute("RELEASE one_write")
            self.commits += 1
        except Exception as exc:  # noqa: BLE001 - BEGIN or COMMIT failed: nothing of the group is stored
            for write in runnable:
                write.error, write.value = exc, None
        finally:
            conn.busy_timeout_ms = budget_ms
            for write in runnable:
                write.done.set()
        log.debug("committed %d write(s) in %.1f ms", len(runnable), (time.monotonic() - started) * 1000)
