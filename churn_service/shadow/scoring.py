"""The challenger scores off the answer: a request hands its parsed records over, one thread per worker scores them.

The request thread only appends to a bounded list under a lock (no scoring, no SQLite, no wait): when
PENDING_MAX records are already waiting, the new ones are dropped and counted in `churn_shadow_dropped_total`,
so a slow disk or a slow challenger can never slow or fail an answer. Every DRAIN_S the thread takes all that
waits, scores each request's records as the challenger would answer that request (one record with
`score_one`, a list with `score_many`, a canonical batch with its column kernel: the same floats it would
serve), and writes them in one transaction under each record's `prediction_id`.
"""
from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Sequence
from typing import Any, NamedTuple, Protocol

from prometheus_client import Counter

from churn_service.model.kernel import BatchKernel, ParsedBatch
from churn_service.model.scoring import Scorer
from churn_service.shadow.store import ShadowStore
from http_common.periodic import Periodic

log = logging.getLogger(__name__)
PENDING_MAX = 100_000  # records waiting to be scored; an empty queue takes one request of any size
DRAIN_S = 0.1


class Challenger(Protocol):
    """What shadow scoring needs of a verified model (churn's `Serving`)."""

    @property
    def version(self) -> str: ...

    @property
    def scorer(self) -> Scorer: ...

    @property
    def kernel(self) -> BatchKernel | None: ...


class Handed(NamedTuple):
    """One request's records, as the champion answered them."""
    prediction_ids: Sequence[str]
    champion: str
    records: Sequence[dict[str, Any]]
    batch: ParsedBatch | None  # the columns, when the champion's kernel parsed the batch


class ShadowScoring:
    def __init__(self, store: ShadowStore, scored: Counter, dropped: Counter, pending_max: int = PENDING_MAX):
        self.store, self.scored, self.dropped, self.pending_max = store, scored, dropped, pending_max
        self.challenger: Challenger | None = None  # set by the SHADOW follower; None: no shadow scoring
        self._lock = threading.Lock()
        self._pending: list[Handed] = []
        self._waiting = 0
        self._ticker = Periodic("shadow-scoring", DRAIN_S, self._drain_logged)
        self._conn: sqlite3.Connection | None = None

    def scoring_beside(self, champion: str) -> Challenger | None:
        """The challenger scored beside `champion`: none when SHADOW names the version served."""
        challenger = self.challenger
        return None if challenger is None or challenger.version == champion else challenger

    def hand(self, prediction_ids: Sequence[str], champion: str, records: Sequence[dict[str, Any]],
             batch: ParsedBatch | None = None) -> None:
        """Called on the request path: queue the records, or drop and count them when the queue is full."""
        challenger = self.challenger
        if challenger is None or challenger.version == champion:
            return
        count = len(prediction_ids)
        with self._lock:
            full = self._waiting and self._waiting + count > self.pending_max
            if not full:
                self._pending.append(Handed(prediction_ids, champion, records, batch))
                self._waiting += count
        if full:
            self.dropped.inc(count)

    def start(self) -> None:
        self._ticker.start()

    def stop(self) -> None:
        self._ticker.stop()

    def _drain_logged(self) -> None:
        try:
            self.drain()
        except Exception:  # never let one bad batch stop the scoring; its records are lost and counted
            log.exception("shadow scoring failed")

    def drain(self) -> int:
        """Score and store everything waiting; the number of records stored."""
        with self._lock:
            handed, self._pending, waiting, self._waiting = self._pending, [], self._waiting, 0
        challenger = self.challenger
        if not handed or challenger is None:
            return 0
        scored: dict[str, tuple[list[str], list[float]]] = {}  # by champion: one group unless the model changed
        try:
            for item in handed:
                if item.champion != challenger.version:
                    ids, probabilities = scored.setdefault(item.champion, ([], []))
                    ids.extend(item.prediction_ids)
                    probabilities.extend(score(challenger, item))
            if self._conn is None:
                self._conn = self.store.connect()
            for champion, (ids, probabilities) in scored.items():
                self.store.add(self._conn, champion, challenger.version, ids, probabilities)
        except BaseException:
            self.dropped.inc(waiting)
            raise
        stored = sum(len(ids) for ids, _ in scored.values())
        self.scored.inc(stored)
        return stored


def score(challenger: Challenger, item: Handed) -> list[float]:
    """The probabilities the challenger would have answered this request with."""
    if item.batch is not None and challenger.kernel is not None:
        return challenger.kernel.score(item.batch).tolist()
    if len(item.records) == 1:
        return [challenger.scorer.score_one(item.records[0])]
    return challenger.scorer.score_many(item.records)

