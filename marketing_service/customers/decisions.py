"""The rule at the heart of marketing: a customer's decision and, for a likely churner who may get one now,
its offer are written in ONE transaction, and a UNIQUE (customerid, campaign) makes a second offer impossible.

The offer's wording is composed before the transaction (offers/wording.py), so the write itself stays short.
"""
from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from marketing_service.churn_client import Score
from marketing_service.customers.records import Customer
from marketing_service.offers import message_ids
from marketing_service.offers.rules import OfferRules, blocked
from marketing_service.offers.wording import compose_offer
from marketing_service.storage import Connection, now_iso
from marketing_service.storage.dialect import in_lock_order


@dataclass(frozen=True)
class Decision:
    customerid: str
    churn_probability: float
    churn: bool
    model_version: str
    offer: tuple[str, str] | None  # subject and body, for a likely churner
    reasons: str = "[]"  # JSON [[feature, value], ...], strongest first
    prediction_id: str | None = None  # churn's id for this scoring (DESIGN §13)
    propensity: float | None = None  # a campaign's chance of an offer; None: the form's (1 if offered, else 0)


def decide(customerid: str, name: str, features: Mapping[str, Any], score: Score) -> Decision:
    """The form's and the API's decision: the model's own `churn` (at its threshold) earns an offer."""
    offer = compose_offer(name, dict(features), score.churn_probability) if score.churn else None
    return Decision(customerid, score.churn_probability, score.churn, score.model_version, offer,
                    json.dumps([list(r) for r in score.reasons]), score.prediction_id)


def save_customers(conn: Connection, customers: Sequence[Customer], rules: OfferRules,
                   decisions: Sequence[Decision] = (), error: str | None = None,
                   rejected: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Store a submission in ONE transaction (shared with other requests' writes on SQLite, see
    storage/group_commit.py): the records, their decisions and offers where churn answered, `rejected`
    (customerid -> churn's reason) as rejected, the rest pending for the background loop. A resubmission
    takes the record back from any lease, and a not yet sent offer follows a corrected email address.
    Returns customerid -> offer row."""
    stamp, rejected = now_iso(), rejected or {}

    def store(conn: Connection) -> dict[str, Any]:
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

    return conn.write(store)


def record(conn: Connection, decisions: Sequence[Decision], rules: OfferRules, stamp: str,
           lease_token: str | None = None) -> dict[str, Any]:
    """Each decision and its offer, inside the caller's transaction. With a lease token (the background
    loop), only records still pending under that lease are decided: a fresher submission that took the
    record back meanwhile is never overwritten by a stale answer. An offer is written only where
    `offers.rules.blocked` allows one now. Returns customerid -> the customer's offer in this campaign."""
    guard, args = ("AND status = 'pending' AND lease_token = ?", (lease_token,)) if lease_token else ("", ())
    taken: list[tuple[Decision, str]] = []  # decision, address
    for d in in_lock_order(conn, decisions, lambda d: d.customerid):
        row = conn.execute(
            f"""UPDATE customers SET status = 'scored', churn_probability = ?, churn = ?, model_version = ?,
                  reasons = ?, last_error = NULL, claimed_until = 0, lease_token = NULL, updated_at = ?
                WHERE customerid = ? {guard} RETURNING email""",
            (d.churn_probability, int(d.churn), d.model_version, d.reasons, stamp, d.customerid, *args),
        ).fetchone()
        if row is not None:
            taken.append((d, row["email"]))
    offered = [(d, email, d.offer) for d, email in taken if d.offer is not None]
    refused = blocked(conn, [(d.customerid, email) for d, email, _ in offered], rules.cooldown_days)
    conn.executemany(
        "INSERT INTO decisions (customerid, churn_probability, churn, model_version, decided_at, prediction_id,"
        " propensity, treated) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(d.customerid, d.churn_probability, int(d.churn), d.model_version, stamp, d.prediction_id,
          *_propensity_and_treated(d, d.customerid in refused)) for d, _ in taken])
    conn.executemany(
        """INSERT INTO offers (customerid, campaign, to_addr, subject, body, status, created_at)
           VALUES (?, ?, ?, ?, ?, 'queued', ?) ON CONFLICT (customerid, campaign) DO NOTHING""",
        [(d.customerid, rules.campaign, email, *offer, stamp) for d, email, offer in offered
         if d.customerid not in refused])
    written = {d.customerid: conn.execute("SELECT id, status FROM offers WHERE customerid = ? AND campaign = ?",
                                          (d.customerid, rules.campaign)).fetchone()
               for d, _, _ in offered}
    message_ids.assign(conn, [row["id"] for row in written.values() if row is not None], rules.mail_domain)
    return written


def _propensity_and_treated(d: Decision, refused: bool) -> tuple[float, int]:
    """DESIGN §13: a form/API offer is certain (1), no offer below the threshold or when blocked (0); a campaign
    passes its own propensity (1 − holdout)."""
    treated = d.offer is not None and not refused
    if d.propensity is not None:
        return d.propensity, int(treated)
    return float(treated), int(treated)
