"""Workers that boot together initialise one brand-new SQLite file together, and none of them may fail.

A worker whose initialisation fails does not boot, and gunicorn then shuts the whole service down: that
was the "connection refused straight after ready" of the first browser test on a cold machine, and a churn
replica of the compose PostgreSQL profile that never became healthy (its shadow store, in CI).
"""
from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

from churn_service.shadow.store import ShadowStore
from marketing_service.storage.sqlite import init_db

ROUNDS = 60


def _init(path: str, barrier: multiprocessing.synchronize.Barrier, errors: multiprocessing.Queue) -> None:
    barrier.wait()
    try:
        init_db(Path(path), 15_000)
    except sqlite3.Error as exc:
        errors.put(repr(exc))


def _open_shadow_store(folder: str, barrier: multiprocessing.synchronize.Barrier, errors: multiprocessing.Queue) -> None:
    barrier.wait()
    try:
        ShadowStore(Path(folder), keep=1000)
    except sqlite3.Error as exc:
        errors.put(repr(exc))


def race(target: object, paths: list[Path]) -> list[str]:
    """Two processes released at once on each path; the errors they met."""
    context = multiprocessing.get_context("fork")
    errors: multiprocessing.Queue = context.Queue()
    for path in paths:
        barrier = context.Barrier(2)
        processes = [context.Process(target=target, args=(str(path), barrier, errors)) for _ in range(2)]  # type: ignore[arg-type]
        for process in processes:
            process.start()
        for process in processes:
            process.join(timeout=30)
            assert process.exitcode == 0
    failures = []
    while not errors.empty():
        failures.append(errors.get())
    return failures


def test_two_processes_initialising_a_new_database_at_once_both_succeed(tmp_path: Path) -> None:
    failures = race(_init, [tmp_path / f"round-{round_}.db" for round_ in range(ROUNDS)])
    assert failures == [], f"{len(failures)} of {2 * ROUNDS} initialisations failed: {failures[:3]}"
    with sqlite3.connect(tmp_path / "round-0.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"customers", "decisions", "offers"} <= tables


def test_two_churn_workers_opening_a_new_shadow_store_at_once_both_succeed_with_one_id(tmp_path: Path) -> None:
    folders = [tmp_path / f"round-{round_}" for round_ in range(ROUNDS)]
    failures = race(_open_shadow_store, folders)
    assert failures == [], f"{len(failures)} of {2 * ROUNDS} shadow stores failed to open: {failures[:3]}"
    with sqlite3.connect(folders[0] / "shadow.sqlite") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT COUNT(*) FROM store").fetchone()[0] == 1  # one id, whoever came first
