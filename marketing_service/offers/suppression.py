"""The suppression list (DESIGN §8): addresses that unsubscribed get no offer, ever. Stored lower case; read
only by offers.rules.blocked."""
from __future__ import annotations

from marketing_service.storage import Connection, now_iso

REASONS = ("unsubscribed", "hard_bounce", "complaint", "soft_bounce")


def add(conn: Connection, email: str, created_by: str, reason: str = "unsubscribed") -> None:
    """Suppress for good, inside the caller's transaction (see mail.outbox.suppress, which also stops the
    address's waiting offers). `created_by` says what asked (DESIGN §11), `reason` why (one of REASONS,
    DESIGN §12); the first suppression of an address is the one kept."""
    if reason not in REASONS:
        raise ValueError(f"unknown suppression reason {reason!r}")
    conn.execute("INSERT INTO suppressions (email, created_at, created_by, reason) VALUES (?, ?, ?, ?)"
                 " ON CONFLICT DO NOTHING", (email.strip().lower(), now_iso(), created_by, reason))
