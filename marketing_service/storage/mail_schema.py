"""v5 of the schema (DESIGN §12): what delivery learns. Each offer's fixed Message-ID, its delivery status and
the attempt in flight; the providers' events, once each; soft bounces in a row per address; why an address is
suppressed; why a campaign paused itself."""
from __future__ import annotations

MAIL = """
CREATE TABLE IF NOT EXISTS mail_events (
    id               INTEGER PRIMARY KEY,
    provider         TEXT NOT NULL,  -- generic, ses, sendgrid
    event_id         TEXT NOT NULL,  -- the provider's id: a redelivered webhook is stored once
    type             TEXT NOT NULL CHECK (type IN ('delivered', 'bounce', 'complaint')),
    bounce_type      TEXT,  -- hard or soft, for bounces
    email            TEXT NOT NULL,  -- lower case
    offer_id         INTEGER,  -- matched by Message-ID (or the address's latest offer), NULL if none matched
    received_at      TEXT NOT NULL,
    UNIQUE (provider, event_id)
);
CREATE INDEX IF NOT EXISTS mail_events_by_offer ON mail_events (offer_id);
CREATE TABLE IF NOT EXISTS soft_bounces (
    email            TEXT PRIMARY KEY,  -- lower case
    in_a_row         INTEGER NOT NULL,  -- since the last delivery
    updated_at       TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS mail_pacing (
    instance         TEXT PRIMARY KEY,  -- MAIL_RATE_PER_MINUTE holds across the workers of one instance
    next_slot        REAL NOT NULL
);
"""
# Indexes on v5's new columns: created after the columns exist (older steps create SCHEMA's tables without them).
MAIL_INDEXES = """
CREATE UNIQUE INDEX IF NOT EXISTS offers_by_message_id ON offers (message_id);
CREATE INDEX IF NOT EXISTS offers_by_campaign ON offers (campaign, delivery_status);
CREATE INDEX IF NOT EXISTS offers_by_address ON offers (lower(to_addr));
CREATE INDEX IF NOT EXISTS offers_waiting ON offers (next_attempt_at, id) WHERE status IN ('queued', 'failed');
"""

# v4 -> v5: the columns added to existing tables, as (table, column, type and default).
MAIL_COLUMNS = (
    ("offers", "message_id", "TEXT"),  # <offer-ID.SLUG@MAIL_DOMAIN>, fixed when the offer is written
    ("offers", "delivery_status", "TEXT"),  # sent, delivered, bounced, complained; NULL before the first 250
    ("offers", "delivery_at", "TEXT"),  # when delivery_status last changed
    ("offers", "attempt_started_at", "REAL"),  # set before DATA, cleared with the attempt's outcome
    ("offers", "ambiguous", "INTEGER NOT NULL DEFAULT 0"),  # sends that may have gone out twice
    ("suppressions", "reason", "TEXT NOT NULL DEFAULT 'unsubscribed'"),
    ("campaigns", "paused_reason", "TEXT"),  # why the guardrail paused it (status `paused`)
    ("campaigns", "resumed_at", "TEXT"),  # a marketer resumed it: the guardrail counts sends after this only
)
NEVER = 1e18  # offers.next_attempt_at of an offer never to be tried again (failed for good, or suppressed)
CAMPAIGN_STATUSES = "('queued', 'running', 'waiting_for_churn', 'paused', 'done', 'failed')"
