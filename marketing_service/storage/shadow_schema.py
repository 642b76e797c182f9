"""v7 of the schema (DESIGN §13): a shadow challenger's probabilities, pulled from churn's `GET /shadow` under the
prediction_id of the champion's answer, and how far each churn shadow store has been read."""
from __future__ import annotations

SHADOW = """
CREATE TABLE IF NOT EXISTS shadow_scores (
    prediction_id    TEXT PRIMARY KEY,  -- churn's id of the champion's answer: joins outcomes.prediction_id
    champion         TEXT NOT NULL,
    challenger       TEXT NOT NULL,
    probability      REAL NOT NULL,  -- the challenger's
    received_at      REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS shadow_scores_by_arrival ON shadow_scores (received_at);
CREATE TABLE IF NOT EXISTS shadow_cursors (
    store            TEXT PRIMARY KEY,  -- a churn instance's shadow store, by the id it reports
    seq              BIGINT NOT NULL  -- its records up to here are read
);
"""
