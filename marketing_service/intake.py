"""Accept customers: score them, then store records, decisions and offers in one transaction (DESIGN §5)."""
from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Sequence
from typing import Any

from marketing_service import store
from marketing_service.churn_client import ChurnClient, ChurnUnavailable
from marketing_service.records import Customer

log = logging.getLogger(__name__)


def submit(conn: sqlite3.Connection, client: ChurnClient, campaign: str,
           customers: Sequence[Customer]) -> list[dict[str, Any]]:
    """Score, then store everything in one transaction; the response entries of DESIGN §5, in order."""
    # Duplicates inside one request are scored once (the last one wins); every entry gets its answer.
    unique = list({c.customerid: c for c in customers}.values())
    try:
        scores = client.score([c.features for c in unique])
    except ChurnUnavailable as exc:
        log.warning("%d record(s) stored as pending: %s", len(unique), exc)
        store.save_customers(conn, unique, campaign, error=str(exc))
        return [{"customerid": c.customerid, "status": "pending", "offer": None} for c in customers]
    decisions = {c.customerid: store.Decision(c.customerid, p, churn, version)
                 for c, (p, churn, version) in zip(unique, scores)}
    offers = store.save_customers(conn, unique, campaign, list(decisions.values()))
    results = []
    for customer in customers:
        decision, offer = decisions[customer.customerid], offers.get(customer.customerid)
        results.append({
            "customerid": customer.customerid, "status": "scored",
            "churn_probability": decision.churn_probability, "churn": decision.churn,
            "offer": {"id": offer["id"], "status": offer["status"]} if offer else None,
        })
    return results


def rescore_pending(conn: sqlite3.Connection, client: ChurnClient, campaign: str, limit: int, lease_s: float) -> int:
    """One pass of the background loop: score what is due; returns how many got a decision."""
    rows = store.claim_pending(conn, limit, lease_s)
    if not rows:
        return 0
    customerids = [r["customerid"] for r in rows]
    try:
        scores = client.score([json.loads(r["features"]) for r in rows])
    except ChurnUnavailable as exc:
        store.release_pending(conn, customerids, str(exc))
        return 0
    store.record_decisions(conn, [store.Decision(cid, p, churn, version)
                                  for cid, (p, churn, version) in zip(customerids, scores)], campaign)
    log.info("scored %d pending record(s)", len(rows))
    return len(rows)
