"""Accept customers: store first, then score, then decide and queue offers (DESIGN §5 guarantees)."""
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


def score_and_decide(
    conn: sqlite3.Connection, client: ChurnClient, campaign: str, customerids: Sequence[str],
    features: Sequence[dict[str, Any]],
) -> dict[str, Any] | None:
    """Score stored pending records; on success commit decisions + offers and return customerid ->
    offer; when churn cannot answer, schedule a retry and return None."""
    try:
        scores = client.score(features)
    except ChurnUnavailable as exc:
        log.warning("%d record(s) left pending: %s", len(customerids), exc)
        store.release_pending(conn, customerids, str(exc))
        return None
    decisions = [store.Decision(cid, p, churn, version) for cid, (p, churn, version) in zip(customerids, scores)]
    offers = store.record_decisions(conn, decisions, campaign)
    return {"decisions": {d.customerid: d for d in decisions}, "offers": offers}


def submit(conn: sqlite3.Connection, client: ChurnClient, campaign: str, customers: Sequence[Customer],
           lease_s: float) -> list[dict[str, Any]]:
    """The response entries for DESIGN §5, in request order."""
    store.save_pending(conn, customers, lease_s)
    # Duplicates inside one request are scored once; every entry still gets its answer.
    unique = list({c.customerid: c for c in customers}.values())
    outcome = score_and_decide(conn, client, campaign, [c.customerid for c in unique], [c.features for c in unique])
    results = []
    for customer in customers:
        if outcome is None:
            results.append({"customerid": customer.customerid, "status": "pending", "offer": None})
            continue
        decision = outcome["decisions"][customer.customerid]
        offer = outcome["offers"].get(customer.customerid)
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
    outcome = score_and_decide(conn, client, campaign, [r["customerid"] for r in rows],
                               [json.loads(r["features"]) for r in rows])
    if outcome is None:
        return 0
    log.info("scored %d pending record(s)", len(rows))
    return len(rows)
