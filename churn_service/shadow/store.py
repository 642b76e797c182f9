"""Where the challenger's probabilities go: one SQLite file (WAL) that every gunicorn worker of an instance shares.

Rows carry an AUTOINCREMENT `seq`, so a reader pages with `after=<the last seq it has>` and never sees a row
twice or misses one, even across the trimming of old rows. The file gets a random `store` id when it is
created: gunicorn's metrics dir (the default home) is new at each start, so a reader that finds another id
knows the seqs restarted and reads from 0 again.
At most `keep` rows are kept: when a write would pass that, the oldest are deleted in the same transaction,
a tenth of `keep` (at most 10,000) more than needed, so the trim runs once per batch rather than per write.
"""
from __future__ import annotations

import secrets
import sqlite3
import time
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

import orjson

from http_common.init_lock import taking_turns

FILE_NAME = "shadow.sqlite"
CHUNK = 5000  # records encoded and inserted at a time
ID_LENGTH = 32  # a prediction_id: uuid4().hex (web/prediction_ids.py)
SCHEMA = """
CREATE TABLE IF NOT EXISTS store (id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS shadow_records (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    prediction_id TEXT NOT NULL,
    champion TEXT NOT NULL,
    challenger TEXT NOT NULL,
    probability REAL NOT NULL,
    scored_at REAL NOT NULL
);
"""


class ShadowStore:
    def __init__(self, folder: Path, keep: int):
        folder.mkdir(parents=True, exist_ok=True)
        self.path, self.keep = folder / FILE_NAME, keep
        self.trim_batch = min(keep // 10, 10_000)
        # The workers of an instance boot together and create it at once: they take turns (a worker that met
        # "database is locked" here failed to boot, and gunicorn stopped the service); the first one's id wins.
        with taking_turns(self.path), closing(self.connect()) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("BEGIN IMMEDIATE")
            for statement in filter(str.strip, SCHEMA.split(";")):
                conn.execute(statement)
            if conn.execute("SELECT id FROM store").fetchone() is None:
                conn.execute("INSERT INTO store (id) VALUES (?)", (secrets.token_hex(8),))
            conn.execute("COMMIT")
            self.store_id: str = conn.execute("SELECT id FROM store").fetchone()[0]

    def connect(self) -> sqlite3.Connection:
        """A connection of its own for each thread that uses the store (autocommit: transactions are explicit)."""
        conn = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA synchronous=NORMAL")  # WAL: a crash may lose the last commits, never corrupt
        return conn

    def add(self, conn: sqlite3.Connection, champion: str, challenger: str, prediction_ids: Sequence[str],
            probabilities: Sequence[float]) -> None:
        """One drain's records in one transaction, with the trim if they take the table past `keep`.

        They go in through one INSERT … SELECT per CHUNK records, not `executemany`: the sqlite3 module lets the
        GIL go around every statement step, and a step per row made the drain fight the request threads for the
        interpreter once per record. The probabilities travel as a JSON array (SQLite reads orjson's shortest
        round-trip floats back exactly), the ids as one blob of 32-character ids that `substr` cuts by byte
        offset: half the cost per row of an array of [id, probability] pairs (measured).
        """
        now = time.time()
        conn.execute("BEGIN IMMEDIATE")
        try:
            for start in range(0, len(prediction_ids), CHUNK):  # the GIL goes between chunks: no long stall
                ids = "".join(prediction_ids[start:start + CHUNK]).encode()
                chunk = probabilities[start:start + CHUNK]
                if len(ids) != ID_LENGTH * len(chunk):
                    raise ValueError(f"prediction ids must be {ID_LENGTH} ASCII characters each")
                conn.execute("INSERT INTO shadow_records (prediction_id, champion, challenger, probability, scored_at)"
                             f" SELECT CAST(substr(?1, key * {ID_LENGTH} + 1, {ID_LENGTH}) AS TEXT), ?2, ?3, value, ?4"
                             " FROM json_each(?5)", (ids, champion, challenger, now, orjson.dumps(list(chunk))))
            # Two queries: SQLite reads max() or min() of the key from the index only when each is alone.
            (newest,) = conn.execute("SELECT max(seq) FROM shadow_records").fetchone()
            (oldest,) = conn.execute("SELECT min(seq) FROM shadow_records").fetchone()
            if newest is not None and newest - oldest + 1 > self.keep:  # kept seqs run without gaps
                conn.execute("DELETE FROM shadow_records WHERE seq <= ?", (newest - self.keep + self.trim_batch,))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def read(self, conn: sqlite3.Connection, after: int, limit: int) -> list[dict[str, Any]]:
        rows = conn.execute("SELECT seq, prediction_id, champion, challenger, probability FROM shadow_records"
                            " WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit)).fetchall()
        return [{"seq": s, "prediction_id": p, "champion": a, "challenger": b, "probability": q}
                for s, p, a, b, q in rows]
