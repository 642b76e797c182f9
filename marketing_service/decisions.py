"""The rule at the heart of marketing: a customer's decision and, for a likely churner, its offer are
written in ONE transaction, and a UNIQUE (customerid, campaign) makes a second offer impossible.

The offer's wording is composed before the transaction (offers.py), so the write itself stays short.
"""
from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from marketing_service import group_commit
from marketing_service.churn_client import Score
from marketing_service.db import now_iso
from marketing_service.dialect import in_lock_order
from marketing_service.offer_rules import OfferRules
from marketing_service.offers import compose_offer
from marketing_service.records import Customer


@dataclass(frozen=True)
class Decision:
    customerid: str
    churn_probability: float
    churn: bool
    model_version: str
    offer: tuple[str, str] | None  # subject and body, for a likely churner
    reasons: str = "[]"  # JSON [[feature, value], ...], strongest first


def decide(customerid: str, name: str, features: Mapping[str, Any], score: Score) -> Decision:
    offer = compose_offer(name, dict(features), score.churn_probability) if score.churn else None
    return Decision(customerid, score.churn_probability, score.churn, score.model_version, offer,
                    json.dumps([list(r) for r in score.reasons]))


def save_customers(conn: sqlite3.Connection, customers: Sequence[Customer], rules: OfferRules,
                   decisions: Sequence[Decision] = (), error: str | None = None,
                   rejected: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Store a submission in ONE transaction (shared with other requests' writes on SQLite, see group_commit):
    the records, their decisions and offers where
    churn answered, `rejected` (customerid -> churn's reason) as rejected, the rest pending for the
    background loop. A resubmission takes the record back from any lease, and a not yet sent offer
    follows a corrected email address. Returns customerid -> offer row."""
    stamp, rejected = now_iso(), rejected or {}

    def store(conn: sqlite3.Connection) -> dict[str, Any]:
        conn.executemany(
            """INSERT INTO customers (customerid, name, email, features, status, next_attempt_at, last_error,
                                      created_at, updated_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (customerid) DO UPDATE SET name = excluded.name, email = excluded.email,
                 features = excluded.features, status = excluded.status, attempts = 0, claimed_until = 0,
                 lease_token = NULL, next_attempt_at = excluded.next_attempt_at, last_error = excluded.last_error,
                 updated_at = excluded.updated_at""",
            [(c.customerid, c.name, c.email, json.dumps(c.features),
              "rejected" if c.customerid in rejected else "pending", time.time(),
              rejected.get(c.customerid, error), stamp, stamp)
             for c in in_lock_order(conn, customers, lambda c: c.customerid)],
        )
        conn.executemany(
            "UPDATE offers SET to_addr = ? WHERE customerid = ? AND status IN ('queued', 'failed') AND to_addr != ?",
            [(c.email, c.customerid, c.email) for c in customers],
        )
        return record(conn, decisions, rules, stamp)

    return group_commit.write(conn, store)


def record(conn: sqlite3.Connection, decisions: Sequence[Decision], rules: OfferRules, stamp: str,
           lease_token: str | None = None) -> dict[str, Any]:
    """Each decision and its offer, inside the caller's transaction. With a lease token (the background
    loop), only records still pending under that lease are decided: a fresher submission that took the
    record back meanwhile is never overwritten by a stale answer. No offer goes to a suppressed address, nor
    to a customer another campaign (the form's included) made an offer to within the cooldown."""
    offers: dict[str, Any] = {}
    for d in in_lock_order(conn, decisions, lambda d: d.customerid):
        guard, args = ("AND status = 'pending' AND lease_token = ?", (lease_token,)) if lease_token else ("", ())
        row = conn.execute(
            f"""UPDATE customers SET status = 'scored', churn_probability = ?, churn = ?, model_version = ?,
                  reasons = ?, last_error = NULL, claimed_until = 0, lease_token = NULL, updated_at = ?
                WHERE customerid = ? {guard} RETURNING email""",
            (d.churn_probability, int(d.churn), d.model_version, d.reasons, stamp, d.customerid, *args),
        ).fetchone()
        if row is None:
            continue
        conn.execute(
            "INSERT INTO decisions (customerid, churn_probability, churn, model_version, decided_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (d.customerid, d.churn_probability, int(d.churn), d.model_version, stamp),
        )
        if d.offer is None:
            continue
        conn.execute(
            """INSERT INTO offers (customerid, campaign, to_addr, subject, body, status, created_at)
               SELECT ?, ?, ?, ?, ?, 'queued', ? WHERE NOT EXISTS (SELECT 1 FROM suppressions WHERE email = lower(?))
                 AND NOT EXISTS (SELECT 1 FROM offers WHERE customerid = ? AND campaign != ? AND created_at > ?)
               ON CONFLICT (customerid, campaign) DO NOTHING""",
            (d.customerid, rules.campaign, row["email"], *d.offer, stamp, row["email"].strip(), d.customerid,
             rules.campaign, rules.cutoff()),
        )
        offers[d.customerid] = conn.execute(
            "SELECT id, status FROM offers WHERE customerid = ? AND campaign = ?", (d.customerid, rules.campaign)
        ).fetchone()
    return offers
