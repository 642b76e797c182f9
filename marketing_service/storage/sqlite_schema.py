"""The schema's versions on SQLite: a new file gets the latest, an older one is migrated in place (its version
in `PRAGMA user_version`), inside `init_db`'s lock and transaction."""
from __future__ import annotations

import sqlite3
from collections.abc import Callable

from marketing_service.storage.experiment_schema import EXPERIMENT_COLUMNS
from marketing_service.storage.mail_schema import MAIL, MAIL_COLUMNS, MAIL_INDEXES
from marketing_service.storage.outcome_schema import BACKFILL_CAMPAIGN_ROWS, BACKFILL_DECISIONS, OUTCOME_COLUMNS, OUTCOMES
from marketing_service.storage.schema import ACCESS, CREATED_BY_COLUMNS, LATEST, SCHEMA, VERSION, statements
from marketing_service.storage.shadow_schema import SHADOW


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


def _v3_to_v4(conn: sqlite3.Connection) -> None:
    """v4: users, API tokens, failed sign-ins, and who created campaigns, suppressions and outcome uploads."""
    for table in CREATED_BY_COLUMNS:
        columns = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        if "created_by" not in columns:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN created_by TEXT NOT NULL DEFAULT ''")
    _create(conn, ACCESS)


def _v4_to_v5(conn: sqlite3.Connection) -> None:
    """v5 (DESIGN §12): Message-IDs, delivery status and attempts in flight, mail events, soft bounces, pacing,
    why an address is suppressed, and the `paused` campaign (a new CHECK: the campaigns table is rebuilt)."""
    for table, column, kind in MAIL_COLUMNS:
        if table != "campaigns" and column not in {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
    old = [row[1] for row in conn.execute("PRAGMA table_info(campaigns)")]
    conn.execute("PRAGMA legacy_alter_table = ON")  # the rows' references keep pointing at "campaigns"
    conn.execute("ALTER TABLE campaigns RENAME TO campaigns_v4")
    _create(conn, SCHEMA)
    conn.execute(f"INSERT INTO campaigns ({', '.join(old)}) SELECT {', '.join(old)} FROM campaigns_v4")
    conn.execute("DROP TABLE campaigns_v4")
    conn.execute("PRAGMA legacy_alter_table = OFF")
    _create(conn, MAIL + MAIL_INDEXES)


def _v5_to_v6(conn: sqlite3.Connection) -> None:
    """v6 (DESIGN §13): each decision's prediction_id and propensity, and the outcomes table."""
    _add_columns(conn, OUTCOME_COLUMNS)
    conn.execute(BACKFILL_DECISIONS)
    conn.execute(BACKFILL_CAMPAIGN_ROWS)
    _create(conn, OUTCOMES)


def _v6_to_v7(conn: sqlite3.Connection) -> None:
    """v7 (DESIGN §13): a shadow challenger's probabilities and how far each churn shadow store is read."""
    _create(conn, SHADOW)


def _v7_to_v8(conn: sqlite3.Connection) -> None:
    """v8 (DESIGN §14): explored campaign customers and the predicted uplift of an uplift-mode campaign."""
    _add_columns(conn, EXPERIMENT_COLUMNS)


def _add_columns(conn: sqlite3.Connection, columns: tuple[tuple[str, str, str], ...]) -> None:
    for table, column, kind in columns:
        if column not in {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")


def _create(conn: sqlite3.Connection, script: str) -> None:
    for statement in statements(script):
        conn.execute(statement)


# Every version after the first, in order: version -> its step (tests check they reach VERSION).
STEPS: dict[int, Callable[[sqlite3.Connection], None]] = {2: _v1_to_v2, 3: _v2_to_v3, 4: _v3_to_v4, 5: _v4_to_v5,
                                                          6: _v5_to_v6, 7: _v6_to_v7, 8: _v7_to_v8}


def migrate(conn: sqlite3.Connection) -> None:
    """Bring the open file to VERSION, inside the caller's transaction."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    existing = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'customers'").fetchone()
    if version == 0 and existing is None:
        _create(conn, LATEST)
    else:
        for step_version, step in STEPS.items():
            if version < step_version:
                step(conn)
    broken = conn.execute("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise sqlite3.IntegrityError(f"migration to version {VERSION} broke {len(broken)} references; rolled back")
    conn.execute(f"PRAGMA user_version = {VERSION}")
