"""Group commit on a real SQLite file: many requests' writes share a transaction, each still succeeds or fails
on its own, and a write that never got its turn is not stored after its caller was told 503."""
from __future__ import annotations

import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from marketing_service.storage import sqlite as db
from marketing_service.storage import write_queue
from marketing_service.storage.group_commit import GroupCommitter


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "m.db"
    conn = db.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE t (k TEXT PRIMARY KEY)")
    conn.close()
    return path


def committer_for(path: Path, timeout_s: float = 5) -> GroupCommitter:
    queue = write_queue.WriteQueue(path)
    return GroupCommitter(lambda: db.connect(path, 5_000, queue), timeout_s)


def insert(key: str):
    def work(conn: sqlite3.Connection) -> str:
        conn.execute("INSERT INTO t (k) VALUES (?)", (key,))
        return key
    return work


def stored(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {k for (k,) in conn.execute("SELECT k FROM t")}


def test_concurrent_writes_are_all_committed_in_fewer_transactions(database: Path) -> None:
    committer = committer_for(database)
    with ThreadPoolExecutor(32) as pool:
        answers = list(pool.map(lambda i: committer.run(insert(f"k{i}")), range(400)))
    assert answers == [f"k{i}" for i in range(400)]
    assert stored(database) == set(answers)
    assert committer.commits < 400, "writes waiting together should share a commit"


def test_a_failing_write_fails_alone(database: Path) -> None:
    committer = committer_for(database)
    committer.run(insert("taken"))
    barrier = threading.Barrier(20)

    def attempt(i: int) -> str:
        barrier.wait()
        try:
            return committer.run(insert("taken" if i % 5 == 0 else f"k{i}"))
        except sqlite3.IntegrityError:
            return "refused"

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(attempt, range(20)))
    assert answers.count("refused") == 4
    assert stored(database) == {"taken"} | {f"k{i}" for i in range(20) if i % 5}


def test_writes_held_up_past_their_deadline_are_refused_in_time_and_not_stored(database: Path) -> None:
    """Another program holds the write lock: the write being committed and the one queued behind it are both
    refused (a 503 for the caller) within their own deadline, and neither is stored afterwards."""
    committer = committer_for(database, timeout_s=0.5)
    committer.run(insert("before"))
    holder = sqlite3.connect(database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")

    def timed(key: str) -> tuple[str, float]:
        started = time.monotonic()
        try:
            committer.run(insert(key))
            outcome = "stored"
        except sqlite3.OperationalError as exc:
            outcome = "refused" if "locked" in str(exc) else repr(exc)
        return outcome, time.monotonic() - started

    try:
        with ThreadPoolExecutor(2) as pool:
            running = pool.submit(timed, "running")
            time.sleep(0.1)
            queued = pool.submit(timed, "queued")
            answers = [running.result(timeout=10), queued.result(timeout=10)]
    finally:
        holder.execute("COMMIT")
        holder.close()
    assert [outcome for outcome, _ in answers] == ["refused", "refused"]
    assert max(waited for _, waited in answers) < 0.5 + 0.3
    committer.run(insert("after"))
    assert stored(database) == {"before", "after"}
