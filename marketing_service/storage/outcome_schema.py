"""v6 of the schema (DESIGN §13): every decision keeps churn's `prediction_id` and the `propensity` of an offer
(the chance the customer's design gave them one), and outcomes get a table of their own, one label per decision,
so re-posting an outcome changes nothing and every metric reads one place."""
from __future__ import annotations

OUTCOMES = """
CREATE TABLE IF NOT EXISTS outcomes (
    id               INTEGER PRIMARY KEY,
    source           TEXT NOT NULL CHECK (source IN ('form', 'campaign')),
    decision_ref     BIGINT NOT NULL,  -- decisions.id for `form`, the campaign's id for `campaign`
    customerid       TEXT NOT NULL,
    churned          INTEGER NOT NULL,
    observed_at      TEXT NOT NULL,
    churn_probability REAL NOT NULL,  -- the joined decision's, copied: the metrics read this table alone
    model_version    TEXT NOT NULL,
    prediction_id    TEXT,
    propensity       REAL NOT NULL,
    treated          INTEGER NOT NULL,  -- the customer got an offer
    recorded_by      TEXT NOT NULL DEFAULT '',
    recorded_at      TEXT NOT NULL,
    UNIQUE (source, decision_ref, customerid)
);
CREATE INDEX IF NOT EXISTS outcomes_by_version ON outcomes (model_version);
CREATE INDEX IF NOT EXISTS decisions_by_customer ON decisions (customerid, decided_at);
"""

# v5 -> v6: the columns added to existing tables, as (table, column, type and default).
OUTCOME_COLUMNS = (
    ("decisions", "prediction_id", "TEXT"),  # churn's id for the scoring; NULL from a churn without ids
    ("decisions", "propensity", "REAL NOT NULL DEFAULT 0"),
    ("decisions", "treated", "INTEGER NOT NULL DEFAULT 0"),  # an offer was written with the decision
    ("campaign_rows", "prediction_id", "TEXT"),
    ("campaign_rows", "propensity", "REAL"),  # set with the decision, when the campaign finishes
)
# What v6 can tell of older decisions: a form decision's offer was written with it (same stamp), so it was given
# for sure; a campaign's offer and holdout rows depend on its holdout share, unknown here: left NULL, they join
# no outcome.
BACKFILL_DECISIONS = """UPDATE decisions SET treated = 1, propensity = 1 WHERE EXISTS (
    SELECT 1 FROM offers WHERE offers.customerid = decisions.customerid AND offers.created_at = decisions.decided_at)"""
BACKFILL_CAMPAIGN_ROWS = """UPDATE campaign_rows SET propensity = 0
    WHERE decision IS NOT NULL AND decision NOT IN ('offer', 'holdout')"""
