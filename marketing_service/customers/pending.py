"""Records waiting for churn: leased to one worker at a time under a token, so only the holder of the
lease can decide, release or reject them, and a killed worker's lease simply expires."""
from __future__ import annotations

import secrets
import time
from collections.abc import Mapping, Sequence
from typing import Any

from marketing_service.customers.decisions import Decision, record
from marketing_service.offers.rules import OfferRules
from marketing_service.storage import Connection, now_iso
from marketing_service.storage.dialect import in_lock_order, least, skip_locked

MAX_BACKOFF_S = 60.0


def claim(conn: Connection, limit: int, lease_s: float) -> tuple[str, list[Any]]:
    """Lease due pending records to this caller; returns the lease token and the rows."""
    now, token = time.time(), secrets.token_hex(8)
    with conn.transaction():
        rows = conn.execute(
            f"""UPDATE customers SET claimed_until = ?, lease_token = ? WHERE customerid IN (
                 SELECT customerid FROM customers WHERE status = 'pending' AND next_attempt_at <= ?
                   AND claimed_until <= ? ORDER BY next_attempt_at LIMIT ?{skip_locked(conn)})
               RETURNING customerid, name, email, features, attempts""",
            (now + lease_s, token, now, now, limit),
        ).fetchall()
    return token, rows


def decide(conn: Connection, token: str, decisions: Sequence[Decision], rules: OfferRules) -> dict[str, Any]:
    with conn.transaction():
        return record(conn, decisions, rules, now_iso(), lease_token=token)


def release(conn: Connection, token: str, customerids: Sequence[str], error: str) -> None:
    """Churn could not score them now: try again later, further apart each time."""
    now = time.time()
    with conn.transaction():
        conn.executemany(
            f"""UPDATE customers SET attempts = attempts + 1,
                 next_attempt_at = ? + {least(conn)}(?, 0.5 * (1 << {least(conn)}(attempts, 10))),
                 claimed_until = 0, lease_token = NULL, last_error = ?
               WHERE customerid = ? AND status = 'pending' AND lease_token = ?""",
            [(now, MAX_BACKOFF_S, error[:500], customerid, token) for customerid in in_lock_order(conn, customerids, str)],
        )


def reject(conn: Connection, token: str, reasons: Mapping[str, str]) -> None:
    """Churn refused them: retrying cannot help, so they are stored as rejected with churn's reason."""
    with conn.transaction():
        conn.executemany(
            """UPDATE customers SET status = 'rejected', last_error = ?, claimed_until = 0, lease_token = NULL,
                 updated_at = ? WHERE customerid = ? AND status = 'pending' AND lease_token = ?""",
            [(reason[:500], now_iso(), customerid, token)
             for customerid, reason in in_lock_order(conn, reasons.items(), lambda item: item[0])],
        )
