"""The suppression list (DESIGN §8): addresses that unsubscribed get no offer, ever. Stored lower case; read
only by offers.rules.blocked."""
from __future__ import annotations

from marketing_service.storage import Connection, now_iso


def add(conn: Connection, email: str, created_by: str) -> None:
    """Suppress for good, inside the caller's transaction (see mail.outbox.suppress, which also stops the
    address's waiting offers). `created_by` says what asked (DESIGN §11): the first one is kept."""
    conn.execute("INSERT INTO suppressions (email, created_at, created_by) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                 (email.strip().lower(), now_iso(), created_by))
