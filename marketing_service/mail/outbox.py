"""The offer outbox: emails claimed for delivery under a lease token, so only the worker holding the lease can
record an attempt or its outcome, and a claim is never larger than the lease can cover (DESIGN §12).

An offer waiting for a retry is `failed` with a `next_attempt_at`; one failed for good has FINAL there, so a
later, larger MAIL_MAX_ATTEMPTS never wakes it. A paused campaign's offers are not claimed.
"""
from __future__ import annotations

import random
import secrets
import time
from collections.abc import Sequence
from typing import Any

from marketing_service.offers import message_ids, suppression
from marketing_service.storage import Connection, now_iso
from marketing_service.storage.dialect import skip_locked
from marketing_service.storage.mail_schema import NEVER

MAX_BACKOFF_S = 300.0
MAX_CLAIM = 200
FINAL = NEVER  # next_attempt_at of an offer never to be tried again
NOT_PAUSED = "campaign NOT IN (SELECT 'campaign-' || id FROM campaigns WHERE status = 'paused')"


def backoff(base_s: float, attempts: int) -> float:
    """The wait before attempt n+1 after n attempts: base · 2^(n−1), capped, with full jitter (uniform from 0),
    so offers that failed together do not all come back together."""
    return random.uniform(0, min(MAX_BACKOFF_S, base_s * 2 ** max(0, attempts - 1)))


def claim_size(lease_s: float, send_timeout_s: float) -> int:
    """As many emails as half the lease holds if each takes a tenth of its deadline (a send usually takes far
    less). The claim is not a promise: before each send, delivery checks that the lease still covers a whole
    deadline and gives the rest back untried, so a slow server never makes a lease lapse mid-send."""
    return max(1, min(MAX_CLAIM, int(lease_s * 5 / send_timeout_s)))


def claim(conn: Connection, limit: int, lease_s: float, max_attempts: int = 8,
          domain: str = "example.com") -> tuple[str, float, list[dict[str, Any]]]:
    """Lease due emails; returns the token, when the lease ends, and the rows. An offer written before
    Message-IDs existed gets its own now, before its first attempt."""
    now, token = time.time(), secrets.token_hex(8)
    with conn.transaction():
        rows = [dict(r) for r in conn.execute(
            f"""UPDATE offers SET claimed_until = ?, lease_token = ?, attempts = attempts + 1 WHERE id IN (
                 SELECT id FROM offers WHERE status IN ('queued', 'failed') AND attempts < ?
                   AND next_attempt_at <= ? AND claimed_until <= ? AND {NOT_PAUSED}
                 ORDER BY next_attempt_at, id LIMIT ?{skip_locked(conn)})
               RETURNING id, customerid, campaign, to_addr, subject, body, attempts, created_at, message_id,
                 attempt_started_at""",
            (now + lease_s, token, max_attempts, now, now, limit),
        ).fetchall()]
        missing = [row["id"] for row in rows if row["message_id"] is None]
        if missing:
            message_ids.assign(conn, missing, domain)
            for row in rows:
                if row["message_id"] is None:
                    row["message_id"] = message_ids.message_id(row["id"], row["campaign"], domain)
    rows.sort(key=lambda row: row["id"])
    return token, now + lease_s, rows


def start_attempt(conn: Connection, offer: dict[str, Any], token: str) -> bool:
    """Record, before DATA, that an attempt is under way; an attempt found started and never finished (its
    worker died mid-send) may have reached the server, so it is counted ambiguous now. False: lease lost."""
    with conn.transaction():
        return conn.execute(
            "UPDATE offers SET attempt_started_at = ?, ambiguous = ambiguous + ? WHERE id = ? AND lease_token = ?",
            (time.time(), 1 if offer["attempt_started_at"] is not None else 0, offer["id"], token)).rowcount == 1


def mark_sent(conn: Connection, offer_id: int, token: str) -> bool:
    """False when the lease was lost (it expired and another worker took the email)."""
    return offer_id in mark_sent_many(conn, [offer_id], token)


def mark_sent_many(conn: Connection, offer_ids: Sequence[int], token: str) -> set[int]:
    """`mark_sent` for several emails in one transaction; the ids whose lease still held. A delivery event that
    arrived first (delivered, bounced...) keeps its delivery status."""
    if not offer_ids:
        return set()
    stamp = now_iso()
    with conn.transaction():
        rows = conn.execute(
            f"""UPDATE offers SET status = 'sent', sent_at = ?, last_error = NULL, claimed_until = 0, lease_token = NULL,
                  attempt_started_at = NULL, delivery_status = COALESCE(delivery_status, 'sent'),
                  delivery_at = COALESCE(delivery_at, ?)
                WHERE id IN ({", ".join("?" * len(offer_ids))}) AND lease_token = ? RETURNING id""",
            (stamp, stamp, *offer_ids, token),
        ).fetchall()
    return {row["id"] for row in rows}


def mark_failed(conn: Connection, offer: dict[str, Any], token: str, error: str, *, retry_in: float | None,
                ambiguous: bool = False, bounced: bool = False) -> bool:
    """The attempt failed: retry in `retry_in` seconds, or never (None). `ambiguous`: the server may hold the
    message (counted, DESIGN §12). `bounced`: the address is dead (delivery status `bounced`)."""
    with conn.transaction():
        return conn.execute(
            """UPDATE offers SET status = 'failed', last_error = ?, next_attempt_at = ?, claimed_until = 0,
                 lease_token = NULL, attempt_started_at = NULL, ambiguous = ambiguous + ?,
                 delivery_status = CASE WHEN ? = 1 THEN 'bounced' ELSE delivery_status END,
                 delivery_at = CASE WHEN ? = 1 THEN ? ELSE delivery_at END
               WHERE id = ? AND lease_token = ?""",
            (error[:500], FINAL if retry_in is None else time.time() + retry_in, 1 if ambiguous else 0,
             1 if bounced else 0, 1 if bounced else 0, now_iso(), offer["id"], token),
        ).rowcount == 1


def release(conn: Connection, token: str, offer_ids: Sequence[int]) -> None:
    """Give back emails not attempted (the lease is running out); the attempt is not counted."""
    with conn.transaction():
        conn.executemany(
            "UPDATE offers SET claimed_until = 0, lease_token = NULL, attempts = attempts - 1 WHERE id = ? AND lease_token = ?",
            [(offer_id, token) for offer_id in offer_ids],
        )


def suppress(conn: Connection, email: str, created_by: str, reason: str = "unsubscribed") -> int:
    """Suppress the address for good and stop every offer to it still waiting to go, in one transaction;
    returns how many were stopped. The unsubscribe link, delivery and mail events all come here."""
    address = email.strip().lower()
    with conn.transaction():
        suppression.add(conn, address, created_by, reason)
        return conn.execute(
            """UPDATE offers SET status = 'failed', last_error = ?, next_attempt_at = ?, claimed_until = 0,
                 lease_token = NULL
               WHERE lower(to_addr) = ? AND status IN ('queued', 'failed') AND next_attempt_at < ?""",
            (f"not sent: the address is suppressed ({reason})", FINAL, address, FINAL),
        ).rowcount
