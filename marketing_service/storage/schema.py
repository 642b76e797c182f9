"""The database schema and its versions: a new file gets the latest, an older one is migrated in place.

Each engine migrates with steps of its own (sqlite_schema.py, postgres_schema.py), under a lock and inside one
transaction, so several workers or instances starting at once migrate a database exactly once.
"""
from __future__ import annotations

import time

from marketing_service.storage.mail_schema import CAMPAIGN_STATUSES, MAIL, MAIL_COLUMNS, MAIL_INDEXES
from marketing_service.storage.outcome_schema import OUTCOME_COLUMNS, OUTCOMES
from marketing_service.storage.shadow_schema import SHADOW

VERSION = 8
POSTGRES_BASELINE = 3  # PostgreSQL support began at version 3: a PostgreSQL database starts there
TIMESTAMP = "%Y-%m-%dT%H:%M:%SZ"  # every *_at TEXT column; compared as text, so one format for all

# The columns of a work queue under leases (pending customers, queued offers): tries, when next, who holds it.
LEASED = """attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  REAL NOT NULL DEFAULT 0,
    claimed_until    REAL NOT NULL DEFAULT 0,
    lease_token      TEXT,
    last_error       TEXT,
"""

# v4 (DESIGN §11): who may sign in, the API's tokens (hashes only), failed sign-ins, who uploaded outcomes.
ACCESS = """
CREATE TABLE IF NOT EXISTS users (
    name             TEXT PRIMARY KEY,
    role             TEXT NOT NULL,  -- checked in code (auth/roles.py), so a new role needs no table rebuild
    password_hash    TEXT NOT NULL,
    disabled         INTEGER NOT NULL DEFAULT 0,
    created_by       TEXT NOT NULL DEFAULT '',
    created_at       TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS api_tokens (
    name             TEXT PRIMARY KEY,
    role             TEXT NOT NULL,
    token_hash       TEXT NOT NULL UNIQUE,
    created_by       TEXT NOT NULL DEFAULT '',
    created_at       TEXT NOT NULL,
    revoked_at       TEXT
);
CREATE TABLE IF NOT EXISTS login_failures (
    username         TEXT NOT NULL,
    ip               TEXT NOT NULL,
    at               REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS login_failures_by_user ON login_failures (username, at);
CREATE INDEX IF NOT EXISTS login_failures_by_ip ON login_failures (ip, at);
CREATE TABLE IF NOT EXISTS outcome_uploads (
    id               INTEGER PRIMARY KEY,
    campaign_id      INTEGER NOT NULL REFERENCES campaigns (id),
    matched          INTEGER NOT NULL,
    unmatched        INTEGER NOT NULL,
    rejected         INTEGER NOT NULL,
    created_by       TEXT NOT NULL,
    created_at       TEXT NOT NULL
);
"""

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS customers (
    customerid       TEXT PRIMARY KEY,
    name             TEXT NOT NULL DEFAULT '',
    email            TEXT NOT NULL,
    features         TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'scored', 'rejected')),
    churn_probability REAL,
    churn            INTEGER,
    model_version    TEXT,
    reasons          TEXT,
    {LEASED}    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS customers_pending ON customers (status, next_attempt_at);
CREATE INDEX IF NOT EXISTS customers_recent ON customers (updated_at);
CREATE TABLE IF NOT EXISTS decisions (
    id               INTEGER PRIMARY KEY,
    customerid       TEXT NOT NULL REFERENCES customers (customerid),
    churn_probability REAL NOT NULL,
    churn            INTEGER NOT NULL,
    model_version    TEXT NOT NULL,
    decided_at       TEXT NOT NULL,
    prediction_id    TEXT,
    propensity       REAL NOT NULL DEFAULT 0,
    treated          INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS offers (
    id               INTEGER PRIMARY KEY,
    customerid       TEXT NOT NULL REFERENCES customers (customerid),
    campaign         TEXT NOT NULL,
    to_addr          TEXT NOT NULL,
    subject          TEXT NOT NULL,
    body             TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'failed')),
    {LEASED}    created_at       TEXT NOT NULL,
    sent_at          TEXT,
    message_id       TEXT,
    delivery_status  TEXT,
    delivery_at      TEXT,
    attempt_started_at REAL,
    ambiguous        INTEGER NOT NULL DEFAULT 0,
    UNIQUE (customerid, campaign)
);
CREATE INDEX IF NOT EXISTS offers_due ON offers (status, next_attempt_at);
CREATE TABLE IF NOT EXISTS suppressions (
    email            TEXT PRIMARY KEY,  -- lower case
    created_at       TEXT NOT NULL,
    created_by       TEXT NOT NULL DEFAULT '',
    reason           TEXT NOT NULL DEFAULT 'unsubscribed'
);
CREATE TABLE IF NOT EXISTS campaigns (
    id               INTEGER PRIMARY KEY,
    name             TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN {CAMPAIGN_STATUSES}),
    settings         TEXT NOT NULL,
    rows             INTEGER NOT NULL DEFAULT 0,
    accepted         INTEGER NOT NULL DEFAULT 0,
    rejected         INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    finished_at      TEXT,
    created_by       TEXT NOT NULL DEFAULT '',
    paused_reason    TEXT,
    resumed_at       TEXT
);
CREATE TABLE IF NOT EXISTS campaign_rows (
    campaign_id      INTEGER NOT NULL REFERENCES campaigns (id),
    line             INTEGER NOT NULL,
    customerid       TEXT NOT NULL,
    name             TEXT NOT NULL,
    email            TEXT NOT NULL,
    features         TEXT NOT NULL,
    scored           INTEGER NOT NULL DEFAULT 0,
    claimed_until    REAL NOT NULL DEFAULT 0,
    lease_token      TEXT,
    churn_probability REAL,
    churn            INTEGER,
    expected_value   REAL,
    model_version    TEXT,
    reasons          TEXT,
    decision         TEXT CHECK (decision IN ('offer', 'holdout', 'below_target', 'suppressed', 'cooldown', 'over_budget')),
    offer_id         INTEGER,
    churned          INTEGER,
    prediction_id    TEXT,
    propensity       REAL,
    explored         INTEGER NOT NULL DEFAULT 0,
    uplift           REAL,
    PRIMARY KEY (campaign_id, customerid)
);
CREATE INDEX IF NOT EXISTS campaign_rows_todo ON campaign_rows (campaign_id, scored, claimed_until);
CREATE TABLE IF NOT EXISTS campaign_rejects (
    campaign_id      INTEGER NOT NULL REFERENCES campaigns (id),
    line             INTEGER NOT NULL,
    customerid       TEXT NOT NULL DEFAULT '',
    field            TEXT NOT NULL,
    message          TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS campaign_rejects_by_campaign ON campaign_rejects (campaign_id, line);
CREATE INDEX IF NOT EXISTS offers_recent_by_customer ON offers (customerid, created_at);
""" + ACCESS + MAIL + OUTCOMES + SHADOW
LATEST = SCHEMA + MAIL_INDEXES  # a new database; the migration steps create SCHEMA's tables, then their own indexes
__all__ = ["MAIL", "MAIL_COLUMNS", "MAIL_INDEXES", "OUTCOMES", "OUTCOME_COLUMNS", "SHADOW"]  # for the steps of both engines


# v3 -> v4: the columns that record who did what (the new tables come from ACCESS, created if missing).
CREATED_BY_COLUMNS = ("campaigns", "suppressions")


def statements(script: str) -> list[str]:
    return [statement for statement in script.split(";") if statement.strip()]


def now_iso() -> str:
    return time.strftime(TIMESTAMP, time.gmtime())


def iso_ago(seconds: float) -> str:
    """The timestamp `seconds` ago, to compare with the *_at columns."""
    return time.strftime(TIMESTAMP, time.gmtime(time.time() - seconds))
