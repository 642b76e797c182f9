"""The offer outbox: emails claimed for delivery under a lease token, so only the worker holding the
lease can mark an email sent or failed, and a claim is never larger than the lease can cover."""
from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from typing import Any

from marketing_service.offers import suppression
from marketing_service.storage import Connection, now_iso
from marketing_service.storage.dialect import skip_locked

MAX_BACKOFF_S = 60.0
MAX_DELIVERY_ATTEMPTS = 10
MAX_CLAIM = 200


def backoff(attempts: int) -> float:
    return min(MAX_BACKOFF_S, 0.5 * 2 ** attempts)


def claim_size(lease_s: float, send_timeout_s: float) -> int:
    """As many emails as can be sent within half the lease even if each takes its whole timeout: a slow
    mail server then cannot make a lease lapse mid-claim and let another worker send the rest again."""
    return max(1, min(MAX_CLAIM, int(lease_s / 2 // send_timeout_s)))


def claim(conn: Connection, limit: int, lease_s: float) -> tuple[str, float, list[Any]]:
    """Lease due emails; returns the token, when the lease ends, and the rows."""
    now, token = time.time(), secrets.token_hex(8)
    with conn.transaction():
        rows = conn.execute(
            f"""UPDATE offers SET claimed_until = ?, lease_token = ?, attempts = attempts + 1 WHERE id IN (
                 SELECT id FROM offers WHERE status IN ('queued', 'failed') AND attempts < ?
                   AND next_attempt_at <= ? AND claimed_until <= ? ORDER BY id LIMIT ?{skip_locked(conn)})
               RETURNING id, customerid, campaign, to_addr, subject, body, attempts, created_at""",
            (now + lease_s, token, MAX_DELIVERY_ATTEMPTS, now, now, limit),
        ).fetchall()
    return token, now + lease_s, rows


def mark_sent(conn: Connection, offer_id: int, token: str) -> bool:
    """False when the lease was lost (it expired and another worker took the email)."""
    return offer_id in mark_sent_many(conn, [offer_id], token)


def mark_sent_many(conn: Connection, offer_ids: Sequence[int], token: str) -> set[int]:
    """`mark_sent` for several emails in one transaction; the ids whose lease still held."""
    if not offer_ids:
        return set()
    with conn.transaction():
        rows = conn.execute(
            f"""UPDATE offers SET status = 'sent', sent_at = ?, last_error = NULL, claimed_until = 0, lease_token = NULL
                WHERE id IN ({", ".join("?" * len(offer_ids))}) AND lease_token = ? RETURNING id""",
            (now_iso(), *offer_ids, token),
        ).fetchall()
    return {row["id"] for row in rows}


def mark_failed(conn: Connection, offer_id: int, token: str, attempts: int, error: str) -> bool:
    with conn.transaction():
        return conn.execute(
            """UPDATE offers SET status = 'failed', last_error = ?, next_attempt_at = ?, claimed_until = 0,
                 lease_token = NULL WHERE id = ? AND lease_token = ?""",
            (error[:500], time.time() + backoff(attempts), offer_id, token),
        ).rowcount == 1


def release(conn: Connection, token: str, offer_ids: Sequence[int]) -> None:
    """Give back emails not attempted (the lease is running out); the attempt is not counted."""
    with conn.transaction():
        conn.executemany(
            "UPDATE offers SET claimed_until = 0, lease_token = NULL, attempts = attempts - 1 WHERE id = ? AND lease_token = ?",
            [(offer_id, token) for offer_id in offer_ids],
        )


def suppress(conn: Connection, email: str, created_by: str) -> int:
    """Suppress the address for good and stop every offer to it still waiting to go, in one transaction;
    returns how many were stopped. The unsubscribe link and delivery both come here."""
    address = email.strip().lower()
    with conn.transaction():
        suppression.add(conn, address, created_by)
        return conn.execute(
            """UPDATE offers SET status = 'failed', last_error = 'not sent: the address unsubscribed', attempts = ?,
                 claimed_until = 0, lease_token = NULL
               WHERE lower(to_addr) = ? AND status IN ('queued', 'failed')""", (MAX_DELIVERY_ATTEMPTS, address),
        ).rowcount
