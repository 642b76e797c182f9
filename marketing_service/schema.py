"""The database schema and its versions: a new file gets the latest, an older one is migrated in place.

`init_db` runs this under its cross-process lock and inside one transaction, so several workers or
instances starting at once migrate a file exactly once. The version lives in SQLite's `user_version`;
PostgreSQL keeps it in a `schema_version` table (backends/postgres_schema.py) and runs the same MIGRATIONS.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

VERSION = 3

SCHEMA = """
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
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  REAL NOT NULL DEFAULT 0,
    claimed_until    REAL NOT NULL DEFAULT 0,
    lease_token      TEXT,
    last_error       TEXT,
    created_at       TEXT NOT NULL,
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
    decided_at       TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS offers (
    id               INTEGER PRIMARY KEY,
    customerid       TEXT NOT NULL REFERENCES customers (customerid),
    campaign         TEXT NOT NULL,
    to_addr          TEXT NOT NULL,
    subject          TEXT NOT NULL,
    body             TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  REAL NOT NULL DEFAULT 0,
    claimed_until    REAL NOT NULL DEFAULT 0,
    lease_token      TEXT,
    last_error       TEXT,
    created_at       TEXT NOT NULL,
    sent_at          TEXT,
    UNIQUE (customerid, campaign)
);
CREATE INDEX IF NOT EXISTS offers_due ON offers (status, next_attempt_at);
CREATE TABLE IF NOT EXISTS suppressions (
    email            TEXT PRIMARY KEY,  -- lower case
    created_at       TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS campaigns (
    id               INTEGER PRIMARY KEY,
    name             TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('queued', 'running', 'waiting_for_churn', 'done', 'failed')),
    settings         TEXT NOT NULL,
    rows             INTEGER NOT NULL DEFAULT 0,
    accepted         INTEGER NOT NULL DEFAULT 0,
    rejected         INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    finished_at      TEXT
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
"""


def _v1_to_v2(conn: sqlite3.Connection) -> None:
    """v2: a record churn refuses is stored as `rejected` (SQLite cannot alter a CHECK: rebuild the table),
    and every lease carries a token, so only the holder of a lease can change what it leased."""
    columns = "customerid, name, email, features, status, churn_probability, churn, model_version, attempts, " \
              "next_attempt_at, claimed_until, last_error, created_at, updated_at"
    # Legacy renaming, with foreign keys off (init_db), leaves the references of decisions and offers
    # pointing at "customers", which is then the new table.
    conn.execute("PRAGMA legacy_alter_table = ON")
    conn.execute("ALTER TABLE customers RENAME TO customers_v1")
    conn.execute("DROP INDEX IF EXISTS customers_pending")
    conn.execute("DROP INDEX IF EXISTS customers_recent")
    _create(conn, SCHEMA)
    conn.execute(f"INSERT INTO customers ({columns}) SELECT {columns} FROM customers_v1")
    conn.execute("DROP TABLE customers_v1")
    conn.execute("PRAGMA legacy_alter_table = OFF")
    conn.execute("ALTER TABLE offers ADD COLUMN lease_token TEXT")


def _v2_to_v3(conn: sqlite3.Connection) -> None:
    """v3: the reasons churn gave for each decision (`?explain=true`), the addresses that unsubscribed, and
    campaigns (DESIGN §8)."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(customers)")}
    if "reasons" not in columns:  # a v1 file rebuilt by _v1_to_v2 already has it
        conn.execute("ALTER TABLE customers ADD COLUMN reasons TEXT")
    _create(conn, SCHEMA)  # the new tables (suppressions, campaigns); the existing ones are left as they are


def statements(script: str) -> list[str]:
    return [statement for statement in script.split(";") if statement.strip()]


def _create(conn: sqlite3.Connection, script: str) -> None:
    for statement in statements(script):
        conn.execute(statement)


@dataclass(frozen=True)
class Migration:
    """One schema version: its step on each engine (None where that engine never had the older version)."""

    version: int
    sqlite: Callable[[Any], None] | None
    postgres: Callable[[Any], None] | None


# Every version after the first, in order. PostgreSQL support began at version 3, so a PostgreSQL database
# starts there; a later version adds its step for both engines here.
MIGRATIONS = (Migration(2, _v1_to_v2, None), Migration(3, _v2_to_v3, None))
POSTGRES_BASELINE = 3


def migrate(conn: sqlite3.Connection) -> None:
    """Bring the open file to VERSION, inside the caller's transaction."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    existing = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'customers'").fetchone()
    if version == 0 and existing is None:
        _create(conn, SCHEMA)
    else:
        for migration in MIGRATIONS:
            if version < migration.version and migration.sqlite is not None:
                migration.sqlite(conn)
    broken = conn.execute("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise sqlite3.IntegrityError(f"migration to version {VERSION} broke {len(broken)} references; rolled back")
    conn.execute(f"PRAGMA user_version = {VERSION}")
