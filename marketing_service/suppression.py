"""Suppression (DESIGN §8): signed unsubscribe links, and the list of addresses that get no offer, ever.

The token is the address signed with the app's secret key (itsdangerous, as Flask signs its cookies): it
cannot be forged or pointed at someone else's address, and it never expires, as unsubscribe links must not.
"""
from __future__ import annotations

import sqlite3

from itsdangerous import BadSignature, URLSafeSerializer

from marketing_service.db import now_iso, transaction
from marketing_service.outbox import MAX_DELIVERY_ATTEMPTS

SALT = "unsubscribe"


class Links:
    """Makes and reads the signed unsubscribe links of one deployment."""

    def __init__(self, secret_key: str, public_url: str):
        self.serializer = URLSafeSerializer(secret_key, salt=SALT)
        self.public_url = public_url.rstrip("/")

    def url(self, email: str) -> str:
        return f"{self.public_url}/unsubscribe/{self.serializer.dumps(email.strip().lower())}"

    def email_for(self, token: str) -> str | None:
        try:
            email = self.serializer.loads(token)
        except BadSignature:
            return None
        return email if isinstance(email, str) else None


def is_suppressed(conn: sqlite3.Connection, email: str) -> bool:
    return conn.execute("SELECT 1 FROM suppressions WHERE email = ?", (email.strip().lower(),)).fetchone() is not None


def suppress(conn: sqlite3.Connection, email: str) -> int:
    """Suppress for good, and stop every offer to it still waiting to go; returns how many were stopped."""
    address = email.strip().lower()
    with transaction(conn):
        conn.execute("INSERT INTO suppressions (email, created_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
                     (address, now_iso()))
        return conn.execute(
            """UPDATE offers SET status = 'failed', last_error = 'not sent: the address unsubscribed', attempts = ?,
                 claimed_until = 0, lease_token = NULL
               WHERE lower(to_addr) = ? AND status IN ('queued', 'failed')""", (MAX_DELIVERY_ATTEMPTS, address),
        ).rowcount
