"""Workers that boot together initialise one brand-new database together, and none of them may fail.

A worker whose initialisation fails does not boot, and gunicorn then shuts the whole service down: that
was the "connection refused straight after ready" of the first browser test on a cold machine.
"""
from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

from marketing_service.storage.sqlite import init_db

ROUNDS = 60


def _init(path: str, barrier: multiprocessing.synchronize.Barrier, errors: multiprocessing.Queue) -> None:
    barrier.wait()
    try:
        init_db(Path(path), 15_000)
    except sqlite3.Error as exc:
        errors.put(repr(exc))


def test_two_processes_initialising_a_new_database_at_once_both_succeed(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    errors: multiprocessing.Queue = context.Queue()
    for round_ in range(ROUNDS):
        path = tmp_path / f"round-{round_}.db"
        barrier = context.Barrier(2)
        processes = [context.Process(target=_init, args=(str(path), barrier, errors)) for _ in range(2)]
        for process in processes:
            process.start()
        for process in processes:
            process.join(timeout=30)
            assert process.exitcode == 0
    failures = []
    while not errors.empty():
        failures.append(errors.get())
    assert failures == [], f"{len(failures)} of {2 * ROUNDS} initialisations failed: {failures[:3]}"
    with sqlite3.connect(tmp_path / "round-0.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"customers", "decisions", "offers"} <= tables
