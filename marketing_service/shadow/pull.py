"""Copy churn's shadow records (`GET /shadow`, DESIGN §13) into `shadow_scores`, a page per call.

Churn keeps a store per instance, named by an id it reports, so marketing keeps a cursor per store: behind a
load balancer each page may come from another instance, and a restarted churn's fresh store starts at 0 again.
A page is taken from after the cursor of the store that answered last time; if another store answers, its rows
are kept (they are idempotent, by prediction_id) but its cursor moves only when the page began at or before it,
so no gap is ever stepped over. Several workers pulling at once only repeat each other's idempotent writes.
"""
from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

from marketing_service.storage import Connection

log = logging.getLogger(__name__)
PAGE = 5000  # records per GET /shadow; churn allows up to 50,000

_INSERT = """INSERT INTO shadow_scores (prediction_id, champion, challenger, probability, received_at)
             VALUES (?, ?, ?, ?, ?) ON CONFLICT (prediction_id) DO NOTHING"""
_ADVANCE = """INSERT INTO shadow_cursors (store, seq) VALUES (?, ?)
              ON CONFLICT (store) DO UPDATE SET seq = excluded.seq WHERE shadow_cursors.seq < excluded.seq"""


def _record(raw: Any) -> tuple[str, str, str, float] | None:
    """(prediction_id, champion, challenger, probability) when churn sent what it promised, else None."""
    if not isinstance(raw, dict):
        return None
    pid, champion, challenger, p = (raw.get(k) for k in ("prediction_id", "champion", "challenger", "probability"))
    if not all(isinstance(v, str) and 0 < len(v) <= 64 for v in (pid, champion, challenger)):
        return None
    if not isinstance(p, (int, float)) or isinstance(p, bool) or not math.isfinite(p) or not 0 <= p <= 1:
        return None
    return pid, champion, challenger, float(p)  # type: ignore[return-value]


class ShadowPuller:
    """One per background loop: pulls at most every `interval_s` seconds, and again at once while pages are full."""

    def __init__(self, read: Callable[[str], dict[str, Any] | None], interval_s: float, page: int = PAGE):
        self.read, self.interval_s, self.page = read, interval_s, page
        self.store: str | None = None  # the store that answered last
        self.due = 0.0

    def pull(self, conn: Connection) -> int:
        """Rows copied this call (0 when not due, or churn has none or cannot say)."""
        if self.interval_s <= 0 or time.monotonic() < self.due:
            return 0
        after = self._cursor(conn, self.store) if self.store else 0
        body = self.read(f"/shadow?after={after}&limit={self.page}")
        records = body.get("records") if body else None
        store = body.get("store") if body else None
        if not isinstance(records, list) or not isinstance(store, str) or not 0 < len(store) <= 64:
            self.due = time.monotonic() + self.interval_s  # churn without /shadow, down, or an answer we cannot use
            return 0
        rows = [r for r in map(_record, records) if r is not None]
        seqs = [s for s in (r.get("seq") for r in records if isinstance(r, dict)) if type(s) is int]
        if len(rows) < len(records):
            log.warning("churn's /shadow sent %d records marketing cannot use; skipped", len(records) - len(rows))
        stamp = time.time()
        with conn.transaction():
            conn.executemany(_INSERT, [(*row, stamp) for row in rows])
            if seqs and after <= self._cursor(conn, store):
                conn.execute(_ADVANCE, (store, max(seqs)))
        self.store = store
        if len(records) < self.page:  # a full page: more are waiting, so the next pass pulls again at once
            self.due = time.monotonic() + self.interval_s
        return len(rows)

    @staticmethod
    def _cursor(conn: Connection, store: str | None) -> int:
        row = conn.execute("SELECT seq FROM shadow_cursors WHERE store = ?", (store,)).fetchone()
        return int(row[0]) if row else 0
