"""Group commit on a real SQLite file: many requests' writes share a transaction, each still succeeds or fails
on its own, and a write that never got its turn is not stored after its caller was told 503."""
from __future__ import annotations

import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from marketing_service import db
from marketing_service.group_commit import GroupCommitter


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "m.db"
    conn = db.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE t (k TEXT PRIMARY KEY)")
    conn.close()
    return path


def committer_for(path: Path, timeout_s: float = 5) -> GroupCommitter:
    queue = db.WriteQueue(path)
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


def test_a_write_that_never_got_its_turn_is_refused_and_not_stored(database: Path) -> None:
    committer = committer_for(database, timeout_s=0.5)
    committer.run(insert("before"))
    holder = sqlite3.connect(database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another program holds the write lock past the deadline
    try:
        with ThreadPoolExecutor(2) as pool:
            first = pool.submit(committer.run, insert("running"))  # taken up: waits on SQLite's lock
            threading.Event().wait(0.2)
            queued = pool.submit(committer.run, insert("queued"))  # behind it: never starts in time
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                queued.result(timeout=10)
            holder.execute("COMMIT")
            assert first.result(timeout=10) == "running"
    finally:
        holder.close()
    committer.run(insert("after"))
    assert stored(database) == {"before", "running", "after"}
