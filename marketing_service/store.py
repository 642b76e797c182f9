"""Reads and writes of customers, decisions and offers: each write one short transaction."""
from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from marketing_service.db import now_iso, transaction
from marketing_service.offers import compose_offer
from marketing_service.records import Customer

MAX_BACKOFF_S = 60.0
MAX_DELIVERY_ATTEMPTS = 10


@dataclass(frozen=True)
class Decision:
    customerid: str
    churn_probability: float
    churn: bool
    model_version: str


def backoff(attempts: int) -> float:
    return min(MAX_BACKOFF_S, 0.5 * 2 ** attempts)


def save_customers(conn: sqlite3.Connection, customers: Sequence[Customer], campaign: str,
                   decisions: Sequence[Decision] = (), error: str | None = None) -> dict[str, Any]:
    """Store a submission in ONE transaction (one fsync): the records, and, when churn answered, their
    decisions and offers; without decisions the records wait as pending for the background loop.
    Nothing is committed before churn has answered or failed, so a crash mid-request leaves no half."""
    stamp = now_iso()
    with transaction(conn):
        conn.executemany(
            """INSERT INTO customers (customerid, name, email, features, status, next_attempt_at, last_error,
                                      created_at, updated_at)
               VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, ?)
               ON CONFLICT (customerid) DO UPDATE SET name = excluded.name, email = excluded.email,
                 features = excluded.features, status = 'pending', attempts = 0, claimed_until = 0,
                 next_attempt_at = excluded.next_attempt_at, last_error = excluded.last_error,
                 updated_at = excluded.updated_at""",
            [(c.customerid, c.name, c.email, json.dumps(c.features), time.time(), error, stamp, stamp)
             for c in customers],
        )
        return _record(conn, decisions, campaign, stamp)


def record_decisions(conn: sqlite3.Connection, decisions: Sequence[Decision], campaign: str) -> dict[str, Any]:
    """Decisions for records already stored (the background loop's path), in one transaction."""
    with transaction(conn):
        return _record(conn, decisions, campaign, now_iso())


def _record(conn: sqlite3.Connection, decisions: Sequence[Decision], campaign: str, stamp: str) -> dict[str, Any]:
    """Each decision and, for churners, its offer, inside the caller's transaction; the UNIQUE
    (customerid, campaign) constraint makes a second offer impossible. Returns customerid -> offer row."""
    offers: dict[str, Any] = {}
    for d in decisions:
        row = conn.execute(
            """UPDATE customers SET status = 'scored', churn_probability = ?, churn = ?, model_version = ?,
                 last_error = NULL, claimed_until = 0, updated_at = ? WHERE customerid = ?
               RETURNING name, email, features""",
            (d.churn_probability, int(d.churn), d.model_version, stamp, d.customerid),
        ).fetchone()
        conn.execute(
            "INSERT INTO decisions (customerid, churn_probability, churn, model_version, decided_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (d.customerid, d.churn_probability, int(d.churn), d.model_version, stamp),
        )
        if not d.churn:
            continue
        subject, body = compose_offer(row["name"], json.loads(row["features"]), d.churn_probability)
        conn.execute(
            """INSERT INTO offers (customerid, campaign, to_addr, subject, body, status, created_at)
               VALUES (?, ?, ?, ?, ?, 'queued', ?) ON CONFLICT (customerid, campaign) DO NOTHING""",
            (d.customerid, campaign, row["email"], subject, body, stamp),
        )
        offers[d.customerid] = conn.execute(
            "SELECT id, status FROM offers WHERE customerid = ? AND campaign = ?", (d.customerid, campaign)
        ).fetchone()
    return offers


def claim_pending(conn: sqlite3.Connection, limit: int, lease_s: float) -> list[sqlite3.Row]:
    """Lease due pending records to this worker so no other worker scores them at the same time."""
    now = time.time()
    with transaction(conn):
        return conn.execute(
            """UPDATE customers SET claimed_until = ? WHERE customerid IN (
                 SELECT customerid FROM customers WHERE status = 'pending' AND next_attempt_at <= ?
                   AND claimed_until <= ? ORDER BY next_attempt_at LIMIT ?)
               RETURNING customerid, name, email, features, attempts""",
            (now + lease_s, now, now, limit),
        ).fetchall()


def release_pending(conn: sqlite3.Connection, customerids: Sequence[str], error: str) -> None:
    """Churn was not reachable: try again later, further apart each time."""
    now = time.time()
    with transaction(conn):
        for customerid in customerids:
            conn.execute(
                """UPDATE customers SET attempts = attempts + 1, next_attempt_at = ? + MIN(?, 0.5 * (1 << MIN(attempts, 10))),
                     claimed_until = 0, last_error = ? WHERE customerid = ? AND status = 'pending'""",
                (now, MAX_BACKOFF_S, error[:500], customerid),
            )


def claim_due_offers(conn: sqlite3.Connection, limit: int, lease_s: float) -> list[sqlite3.Row]:
    now = time.time()
    with transaction(conn):
        return conn.execute(
            """UPDATE offers SET claimed_until = ?, attempts = attempts + 1 WHERE id IN (
                 SELECT id FROM offers WHERE status IN ('queued', 'failed') AND attempts < ?
                   AND next_attempt_at <= ? AND claimed_until <= ? ORDER BY id LIMIT ?)
               RETURNING id, customerid, campaign, to_addr, subject, body, attempts, created_at""",
            (now + lease_s, MAX_DELIVERY_ATTEMPTS, now, now, limit),
        ).fetchall()


def mark_sent(conn: sqlite3.Connection, offer_id: int) -> None:
    with transaction(conn):
        conn.execute(
            "UPDATE offers SET status = 'sent', sent_at = ?, last_error = NULL, claimed_until = 0 WHERE id = ?",
            (now_iso(), offer_id),
        )


def mark_failed(conn: sqlite3.Connection, offer_id: int, attempts: int, error: str) -> None:
    with transaction(conn):
        conn.execute(
            "UPDATE offers SET status = 'failed', last_error = ?, next_attempt_at = ?, claimed_until = 0 WHERE id = ?",
            (error[:500], time.time() + backoff(attempts), offer_id),
        )


CUSTOMER_COLUMNS = "customerid, name, email, status, churn_probability, churn, model_version, created_at, updated_at"
OFFER_COLUMNS = "id, customerid, campaign, to_addr AS \"to\", subject, body, status, attempts, created_at, sent_at"


def recent_customers(conn: sqlite3.Connection, limit: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        f"SELECT {CUSTOMER_COLUMNS} FROM customers ORDER BY updated_at DESC, rowid DESC LIMIT ?", (limit,)
    )
    return [_customer_dict(r) for r in rows]


def get_customer(conn: sqlite3.Connection, customerid: str) -> dict[str, Any] | None:
    row = conn.execute(f"SELECT {CUSTOMER_COLUMNS} FROM customers WHERE customerid = ?", (customerid,)).fetchone()
    return _customer_dict(row) if row else None


def _customer_dict(row: sqlite3.Row) -> dict[str, Any]:
    data = dict(row)
    data["churn"] = None if data["churn"] is None else bool(data["churn"])
    return data


def recent_offers(conn: sqlite3.Connection, limit: int) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(f"SELECT {OFFER_COLUMNS} FROM offers ORDER BY id DESC LIMIT ?", (limit,))]


def get_offer(conn: sqlite3.Connection, offer_id: int) -> dict[str, Any] | None:
    row = conn.execute(f"SELECT {OFFER_COLUMNS} FROM offers WHERE id = ?", (offer_id,)).fetchone()
    return dict(row) if row else None


def offer_for(conn: sqlite3.Connection, customerid: str, campaign: str) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT id, status FROM offers WHERE customerid = ? AND campaign = ?", (customerid, campaign)
    ).fetchone()
    return dict(row) if row else None
