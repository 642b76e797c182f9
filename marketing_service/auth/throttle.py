"""Sign-in throttling (DESIGN §11): 5 failures for one user name or one address within 15 minutes lock both
out for 15 minutes. Counted in the database, so every worker and instance sees the same count (Flask-Limiter
would need Redis, Memcached or MongoDB for that, which this system does not run)."""
from __future__ import annotations

import math
import time

from marketing_service.storage import Connection

LIMIT = 5
WINDOW = 15 * 60.0


def locked_for(conn: Connection, username: str, ip: str, now: float | None = None) -> int:
    """Seconds until a sign-in may be tried again for this name or address (0: now)."""
    now = time.time() if now is None else now
    waits = [0]
    for column, value in (("username", username), ("ip", ip)):
        rows = conn.execute(f"SELECT at FROM login_failures WHERE {column} = ? AND at > ? ORDER BY at DESC LIMIT ?",
                            (value, now - WINDOW, LIMIT)).fetchall()
        if len(rows) >= LIMIT:
            waits.append(math.ceil(rows[0][0] + WINDOW - now))  # locked 15 minutes after the last failure
    return max(waits)


def record_failure(conn: Connection, username: str, ip: str) -> None:
    now = time.time()
    with conn.transaction():
        conn.execute("INSERT INTO login_failures (username, ip, at) VALUES (?, ?, ?)", (username[:200], ip, now))
        conn.execute("DELETE FROM login_failures WHERE at < ?", (now - 2 * WINDOW,))
