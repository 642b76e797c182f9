"""Outcomes joined to decisions (DESIGN §13): each label joins the customer's latest decision made BEFORE it was
observed, from the form/API's `decisions` or a finished campaign's rows, and is stored once per decision with a
copy of what the metrics need; a label with no decision before it is unmatched and stored nowhere."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from marketing_service.customers.outcome_input import Outcome
from marketing_service.quality import Quality, realized_quality
from marketing_service.storage import Connection, now_iso

CHUNK = 1000  # outcomes per transaction, so a large upload never holds SQLite's write lock for long

_FORM = """SELECT 'form' AS source, id AS ref, decided_at AS at, churn_probability, model_version, prediction_id,
                  propensity, treated FROM decisions WHERE customerid = ? AND decided_at < ?
           ORDER BY decided_at DESC, id DESC LIMIT 1"""
# Pre-v6 campaign rows with an unknown propensity join nothing (schema v6's backfill leaves them NULL).
_CAMPAIGN = """SELECT 'campaign' AS source, r.campaign_id AS ref, c.finished_at AS at, r.churn_probability,
                      r.model_version, r.prediction_id, r.propensity,
                      CASE WHEN r.decision = 'offer' THEN 1 ELSE 0 END AS treated
               FROM campaign_rows r JOIN campaigns c ON c.id = r.campaign_id
               WHERE {which} AND r.decision IS NOT NULL AND r.propensity IS NOT NULL
               ORDER BY c.finished_at DESC, r.campaign_id DESC LIMIT 1"""
_UPSERT = """INSERT INTO outcomes (source, decision_ref, customerid, churned, observed_at, churn_probability,
                                   model_version, prediction_id, propensity, treated, recorded_by, recorded_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (source, decision_ref, customerid) DO UPDATE SET churned = excluded.churned,
               observed_at = excluded.observed_at, recorded_by = excluded.recorded_by, recorded_at = excluded.recorded_at"""


def latest_decision(conn: Connection, customerid: str, before: str) -> Any | None:
    """The customer's latest decision strictly before `before`; a campaign's offer also writes a form decision
    a moment before the campaign finishes, so on a tie the campaign's row (with its holdout's propensity) wins."""
    found = [row for row in (conn.execute(_FORM, (customerid, before)).fetchone(),
                             conn.execute(_CAMPAIGN.format(which="r.customerid = ? AND c.finished_at < ?"),
                                          (customerid, before)).fetchone()) if row is not None]
    return max(found, key=lambda row: (row["at"], row["source"] == "campaign"), default=None)


def record_outcomes(conn: Connection, outcomes: Sequence[Outcome], recorded_by: str) -> tuple[int, int]:
    """Store each outcome against its decision; returns (recorded, unmatched). Storing the same outcomes again
    changes nothing: one label per decision, the latest posted wins."""
    recorded, stamp = 0, now_iso()
    for start in range(0, len(outcomes), CHUNK):
        with conn.transaction():
            for outcome in outcomes[start:start + CHUNK]:
                decision = latest_decision(conn, outcome.customerid, outcome.observed_at)
                if decision is None:
                    continue
                store(conn, decision, outcome, recorded_by, stamp)
                recorded += 1
    return recorded, len(outcomes) - recorded


def store(conn: Connection, decision: Any, outcome: Outcome, recorded_by: str, stamp: str) -> None:
    """One label on its decision, inside the caller's transaction; a campaign's row learns it too (its uplift)."""
    conn.execute(_UPSERT, (decision["source"], decision["ref"], outcome.customerid, outcome.churned,
                           outcome.observed_at, decision["churn_probability"], decision["model_version"],
                           decision["prediction_id"], decision["propensity"], decision["treated"], recorded_by, stamp))
    if decision["source"] == "campaign":
        conn.execute("UPDATE campaign_rows SET churned = ? WHERE campaign_id = ? AND customerid = ?",
                     (outcome.churned, decision["ref"], outcome.customerid))


def campaign_outcome(conn: Connection, campaign_id: int, customerid: str, churned: int, recorded_by: str,
                     stamp: str) -> None:
    """A campaign's own outcomes upload (POST /api/campaigns/<id>/outcomes) is the same data: observed now, joined
    to that campaign's row, inside the caller's transaction."""
    row = conn.execute(_CAMPAIGN.format(which="r.campaign_id = ? AND r.customerid = ?"),
                       (campaign_id, customerid)).fetchone()
    if row is not None:
        store(conn, row, Outcome(customerid, churned, stamp), recorded_by, stamp)


def labelled_rows(conn: Connection) -> dict[str, list[tuple[float, int, float, int]]]:
    """model_version -> (probability, churned, propensity, treated) of every labelled decision."""
    by_version: dict[str, list[tuple[float, int, float, int]]] = {}
    for row in conn.execute("SELECT model_version, churn_probability, churned, propensity, treated FROM outcomes"
                            " ORDER BY model_version, id"):
        by_version.setdefault(row[0], []).append((float(row[1]), int(row[2]), float(row[3]), int(row[4])))
    return by_version


def realized_by_version(conn: Connection) -> dict[str, Quality]:
    """DESIGN §13's realized quality of each model version: its untreated labelled decisions, weighted by
    1 / (1 − propensity). An untreated row with propensity 1 cannot happen by design; one is logged and left out."""
    return {version: realized_quality(rows, skip_impossible=True) for version, rows in labelled_rows(conn).items()}
