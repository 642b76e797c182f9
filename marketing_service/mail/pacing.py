"""MAIL_RATE_PER_MINUTE (DESIGN §12): sends spread evenly over time across all workers of one instance. Each
send takes the next free slot from one row of the database (so workers agree without talking), then waits
for it; a slot the lease cannot wait for is given up, not taken."""
from __future__ import annotations

import os
import socket
import time

from marketing_service.storage import Connection


class Pacer:
    def __init__(self, rate_per_minute: float, instance: str | None = None):
        self.interval_s = 60.0 / rate_per_minute
        # The workers of one gunicorn share its master process: one row per master and host.
        self.instance = instance or f"{socket.gethostname()}:{os.getppid()}"

    def per_lease(self, lease_s: float) -> int:
        """How many sends half a lease holds at this rate: the most one claim should take."""
        return max(1, int(lease_s / 2 // self.interval_s))

    def reserve(self, conn: Connection, latest: float) -> float | None:
        """The time this send may start, at or before `latest`; None (and nothing taken) if the next free slot
        is later than that."""
        now = time.time()
        with conn.transaction():
            conn.execute("INSERT INTO mail_pacing (instance, next_slot) VALUES (?, 0) ON CONFLICT DO NOTHING",
                         (self.instance,))
            row = conn.execute("SELECT next_slot FROM mail_pacing WHERE instance = ?", (self.instance,)).fetchone()
            slot = max(now, float(row[0]))
            if slot > latest:
                return None
            conn.execute("UPDATE mail_pacing SET next_slot = ? WHERE instance = ?", (slot + self.interval_s, self.instance))
        return slot
