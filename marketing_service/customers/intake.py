"""Accept customers: score them, then store records, decisions and offers in one transaction (DESIGN §5).

Whatever churn does, an accepted record is stored: scored, pending (churn down, slow, or answering
something unusable) or rejected (churn refused it, with its reason)."""
from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from marketing_service.churn_client import ChurnClient, ChurnRejected, ChurnUnavailable
from marketing_service.customers import pending
from marketing_service.customers.decisions import decide, save_customers
from marketing_service.customers.records import Customer
from marketing_service.offers.rules import OfferRules
from marketing_service.storage import Connection

log = logging.getLogger(__name__)


def submit(conn: Connection, client: ChurnClient, rules: OfferRules,
           customers: Sequence[Customer]) -> list[dict[str, Any]]:
    """Score, then store everything in one transaction; the response entries of DESIGN §5, in order."""
    # Duplicates inside one request are scored once (the last one wins); every entry gets its answer.
    unique = list({c.customerid: c for c in customers}.values())
    try:
        scores = client.score([c.features for c in unique])
    except ChurnUnavailable as exc:
        log.warning("%d record(s) stored as pending: %s", len(unique), exc)
        save_customers(conn, unique, rules, error=str(exc))
        return [{"customerid": c.customerid, "status": "pending", "offer": None} for c in customers]
    except ChurnRejected as exc:
        rejected = {c.customerid: reason for i, c in enumerate(unique) if (reason := exc.reason_for(i))}
        log.warning("churn refused %d record(s); the rest stay pending: %s", len(rejected), exc)
        save_customers(conn, unique, rules, error="scored later: churn refused others in the same call",
                       rejected=rejected)
        return [{"customerid": c.customerid, "offer": None,
                 **({"status": "rejected", "reason": rejected[c.customerid]} if c.customerid in rejected
                    else {"status": "pending"})} for c in customers]
    decisions = {c.customerid: decide(c.customerid, c.name, c.features, score)
                 for c, score in zip(unique, scores, strict=True)}
    offers = save_customers(conn, unique, rules, list(decisions.values()))
    results = []
    for customer in customers:
        decision, offer = decisions[customer.customerid], offers.get(customer.customerid)
        results.append({
            "customerid": customer.customerid, "status": "scored",
            "churn_probability": decision.churn_probability, "churn": decision.churn,
            "model_version": decision.model_version,
            "offer": {"id": offer["id"], "status": offer["status"]} if offer else None,
        })
    return results


def rescore_pending(conn: Connection, client: ChurnClient, rules: OfferRules, limit: int, lease_s: float) -> int:
    """One pass of the background loop: score what is due; returns how many got a decision."""
    token, rows = pending.claim(conn, limit, lease_s)
    if not rows:
        return 0
    customerids = [r["customerid"] for r in rows]
    features = [json.loads(r["features"]) for r in rows]
    try:
        scores = client.score(features)
    except ChurnUnavailable as exc:
        pending.release(conn, token, customerids, str(exc))
        return 0
    except ChurnRejected as exc:
        rejected = {cid: reason for i, cid in enumerate(customerids) if (reason := exc.reason_for(i))}
        pending.reject(conn, token, rejected)
        pending.release(conn, token, [cid for cid in customerids if cid not in rejected], "churn refused others")
        return 0
    pending.decide(conn, token, [decide(r["customerid"], r["name"], f, s)
                                 for r, f, s in zip(rows, features, scores, strict=True)], rules)
    log.info("scored %d pending record(s)", len(rows))
    return len(rows)
