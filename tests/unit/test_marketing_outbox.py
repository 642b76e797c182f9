"""The outbox and the pending queue under leases: only the lease holder changes what it leased, a slow
mail server cannot make two workers send one email, and a stale answer never overwrites a fresh one."""
from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from marketing_service.churn_client import Score
from marketing_service.customers import pending
from marketing_service.customers.decisions import decide, save_customers
from marketing_service.customers.records import parse_customer
from marketing_service.mail import outbox
from marketing_service.mail.delivery import DeliveryPolicy, deliver_due
from marketing_service.mail.links import Links
from marketing_service.mail.mailers import SmtpMailer
from marketing_service.offers.rules import OfferRules
from marketing_service.storage.schema import VERSION
from marketing_service.storage.sqlite import connect, init_db
from marketing_service.storage.write_queue import WriteQueue
from tests.helpers import free_port
from tests.samples import LIKELY_CHURNER
from tests.schema_v5 import v5_schema

RETENTION = OfferRules("retention")


class SlowInbox:
    """A real SMTP server that takes `delay_s` to accept each message, like a mail server under load."""

    def __init__(self, delay_s: float) -> None:
        self.delay_s, self.received = delay_s, []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        await asyncio.sleep(self.delay_s)
        self.received.append(envelope.content)
        return "250 OK"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    path = tmp_path / "marketing.db"
    init_db(path)
    return path


def churners(db_path: Path, n: int) -> list[str]:
    conn = connect(db_path)
    customers = [parse_customer(dict(LIKELY_CHURNER, customerid=f"C-{i}", email=f"c{i}@example.com")) for i in range(n)]
    decisions = [decide(c.customerid, c.name, c.features, Score(0.9, True, "v1")) for c in customers]
    save_customers(conn, customers, RETENTION, decisions)
    conn.close()
    return [c.customerid for c in customers]


def test_a_claim_fits_in_half_the_lease_at_a_tenth_of_the_mailers_deadline() -> None:
    assert outbox.claim_size(lease_s=30, send_timeout_s=10) == 15
    assert outbox.claim_size(lease_s=30, send_timeout_s=60) == 2
    assert outbox.claim_size(lease_s=3, send_timeout_s=60) == 1
    assert outbox.claim_size(lease_s=600, send_timeout_s=0.1) == outbox.MAX_CLAIM


def test_only_the_lease_holder_can_mark_an_email(db_path: Path) -> None:
    churners(db_path, 1)
    conn = connect(db_path)
    first_token, _, [offer] = outbox.claim(conn, 10, lease_s=0.2)
    time.sleep(0.3)  # the first lease lapses; another worker claims the same email
    second_token, _, [again] = outbox.claim(conn, 10, lease_s=30)
    assert again["id"] == offer["id"] and second_token != first_token
    assert outbox.mark_sent(conn, offer["id"], first_token) is False
    assert conn.execute("SELECT status FROM offers").fetchone()[0] == "queued"
    assert outbox.mark_sent(conn, offer["id"], second_token) is True
    assert conn.execute("SELECT status FROM offers").fetchone()[0] == "sent"


def test_two_workers_and_a_slow_mail_server_send_every_email_exactly_once(db_path: Path) -> None:
    inbox, port = SlowInbox(delay_s=0.3), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        churners(db_path, 6)
        mailer = SmtpMailer("127.0.0.1", port, timeout_s=0.5)
        queue = WriteQueue(db_path)

        def worker() -> None:
            conn = connect(db_path, write_queue=queue)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and conn.execute(
                    "SELECT COUNT(*) FROM offers WHERE status != 'sent'").fetchone()[0]:
                deliver_due(conn, mailer, DeliveryPolicy("offers@example.com"), lease_s=1.0, links=Links(["k"], "http://marketing.test"))
            conn.close()

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        controller.stop()
    recipients = sorted(line for m in inbox.received for line in m.decode().splitlines() if line.startswith("To: "))
    assert recipients == sorted(f"To: c{i}@example.com" for i in range(6))


def test_a_stale_background_answer_never_overwrites_a_fresher_submission(db_path: Path) -> None:
    conn = connect(db_path)
    old = parse_customer(dict(LIKELY_CHURNER, customerid="S-1", email="s@example.com"))
    save_customers(conn, [old], RETENTION, error="churn down")  # pending
    token, [row] = pending.claim(conn, 10, lease_s=30)  # the background loop takes it and asks churn...
    fresh = parse_customer(dict(LIKELY_CHURNER, customerid="S-1", email="s@example.com", contract="two_year"))
    save_customers(conn, [fresh], RETENTION, [decide("S-1", "", fresh.features, Score(0.05, False, "v2"))])
    stale = decide("S-1", "", json.loads(row["features"]), Score(0.95, True, "v1"))
    pending.decide(conn, token, [stale], RETENTION)  # ...and its late answer arrives
    stored = conn.execute("SELECT status, churn_probability, model_version FROM customers").fetchone()
    assert tuple(stored) == ("scored", 0.05, "v2")
    assert conn.execute("SELECT COUNT(*) FROM offers").fetchone()[0] == 0


def test_a_released_claim_counts_no_attempt(db_path: Path) -> None:
    churners(db_path, 2)
    conn = connect(db_path)
    token, _, offers = outbox.claim(conn, 10, lease_s=30)
    outbox.release(conn, token, [o["id"] for o in offers])
    assert tuple(conn.execute("SELECT SUM(attempts), MAX(claimed_until) FROM offers").fetchone()) == (0, 0)


@pytest.fixture
def v1_database(tmp_path: Path) -> Iterator[Path]:
    """A file as the previous release left it (schema v1: no `rejected`, no lease tokens)."""
    path = tmp_path / "v1.db"
    import sqlite3

    with sqlite3.connect(path) as conn:
        conn.executescript(V1_SCHEMA)
        conn.execute("INSERT INTO customers (customerid, email, features, status, created_at, updated_at)"
                     " VALUES ('A', 'a@example.com', '{}', 'scored', 't', 't')")
        conn.execute("INSERT INTO offers (customerid, campaign, to_addr, subject, body, status, created_at)"
                     " VALUES ('A', 'retention', 'a@example.com', 's', 'b', 'queued', 't')")
    yield path


def test_a_v1_database_is_migrated_in_place_keeping_its_rows(v1_database: Path) -> None:
    init_db(v1_database)
    init_db(v1_database)  # a second start finds it current
    conn = connect(v1_database)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == VERSION
    assert [tuple(r) for r in conn.execute("SELECT customerid, status, reasons FROM customers")] == [("A", "scored", None)]
    conn.execute("UPDATE customers SET status = 'rejected' WHERE customerid = 'A'")
    assert conn.execute("SELECT lease_token FROM offers").fetchone()[0] is None
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_a_v2_database_gains_the_reasons_column_and_keeps_its_rows(tmp_path: Path) -> None:
    import sqlite3

    from marketing_service.storage.schema import SCHEMA

    path = tmp_path / "v2.db"
    with sqlite3.connect(path) as conn:  # the release before reasons: today's schema without that column
        conn.executescript(SCHEMA.replace("    reasons          TEXT,\n", "") + "PRAGMA user_version = 2;")
        assert "reasons" not in {row[1] for row in conn.execute("PRAGMA table_info(customers)")}
        conn.execute("INSERT INTO customers (customerid, email, features, status, created_at, updated_at)"
                     " VALUES ('B', 'b@example.com', '{}', 'rejected', 't', 't')")
    init_db(path)
    conn = connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == VERSION
    assert [tuple(r) for r in conn.execute("SELECT customerid, status, reasons FROM customers")] == [("B", "rejected", None)]


V1_SCHEMA = """
CREATE TABLE customers (customerid TEXT PRIMARY KEY, name TEXT NOT NULL DEFAULT '', email TEXT NOT NULL,
    features TEXT NOT NULL, status TEXT NOT NULL CHECK (status IN ('pending', 'scored')), churn_probability REAL,
    churn INTEGER, model_version TEXT, attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at REAL NOT NULL DEFAULT 0,
    claimed_until REAL NOT NULL DEFAULT 0, last_error TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE INDEX customers_pending ON customers (status, next_attempt_at);
CREATE INDEX customers_recent ON customers (updated_at);
CREATE TABLE decisions (id INTEGER PRIMARY KEY, customerid TEXT NOT NULL REFERENCES customers (customerid),
    churn_probability REAL NOT NULL, churn INTEGER NOT NULL, model_version TEXT NOT NULL, decided_at TEXT NOT NULL);
CREATE TABLE offers (id INTEGER PRIMARY KEY, customerid TEXT NOT NULL REFERENCES customers (customerid),
    campaign TEXT NOT NULL, to_addr TEXT NOT NULL, subject TEXT NOT NULL, body TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'failed')), attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL DEFAULT 0, claimed_until REAL NOT NULL DEFAULT 0, last_error TEXT,
    created_at TEXT NOT NULL, sent_at TEXT, UNIQUE (customerid, campaign));
CREATE INDEX offers_due ON offers (status, next_attempt_at);
"""


def test_a_v4_database_gains_the_mail_columns_and_campaigns_may_pause(tmp_path: Path) -> None:
    """v5 (DESIGN §12) rebuilds campaigns for its new `paused` status: the rows and their references stay."""
    import sqlite3

    from marketing_service.storage.mail_schema import CAMPAIGN_STATUSES, MAIL, MAIL_COLUMNS
    from marketing_service.storage.schema import SCHEMA

    v4 = SCHEMA.replace(MAIL, "").replace(CAMPAIGN_STATUSES, "('queued', 'running', 'waiting_for_churn', 'done', 'failed')")
    for _, column, _ in MAIL_COLUMNS:  # today's tables without v5's columns
        v4 = re.sub(rf"\n\s+{column}\s[^\n]*,(?=\n)|,\n\s+{column}\s[^\n]*(?=\n\))", "", v4)
    assert "message_id" not in v4 and "paused_reason" not in v4
    path = tmp_path / "v4.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(v4 + "PRAGMA user_version = 4;")
        conn.execute("INSERT INTO campaigns (name, status, settings, created_at, updated_at)"
                     " VALUES ('May', 'done', '{}', 't', 't')")
        conn.execute("INSERT INTO campaign_rows (campaign_id, line, customerid, name, email, features)"
                     " VALUES (1, 2, 'A', '', 'a@x.org', '{}')")
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute("UPDATE campaigns SET status = 'paused'")
    init_db(path)
    conn = connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == VERSION
    conn.execute("UPDATE campaigns SET status = 'paused', paused_reason = 'bounces' WHERE id = 1")
    assert tuple(conn.execute("SELECT name, status, created_by FROM campaigns").fetchone()) == ("May", "paused", "")
    assert conn.execute("SELECT COUNT(*) FROM campaign_rows WHERE campaign_id = 1").fetchone()[0] == 1
    assert conn.execute("SELECT COUNT(*) FROM mail_events").fetchone()[0] == 0
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_a_v5_database_gains_prediction_ids_propensities_and_the_outcomes_table(tmp_path: Path) -> None:
    """v6 (DESIGN §13): a form decision whose offer was written with it was certainly treated; the others not; a
    campaign's below-target row had no chance of an offer, while its offer and holdout rows stay unknown."""
    import sqlite3

    path = tmp_path / "v5.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(v5_schema() + "PRAGMA user_version = 5;")
        for cid, churn in (("A", 1), ("B", 0)):
            conn.execute("INSERT INTO customers (customerid, email, features, status, created_at, updated_at)"
                         " VALUES (?, 'x@y.org', '{}', 'scored', 't', 't')", (cid,))
            conn.execute("INSERT INTO decisions (customerid, churn_probability, churn, model_version, decided_at)"
                         " VALUES (?, 0.5, ?, 'v1', 'T1')", (cid, churn))
        conn.execute("INSERT INTO offers (customerid, campaign, to_addr, subject, body, status, created_at)"
                     " VALUES ('A', 'retention', 'x@y.org', 's', 'b', 'queued', 'T1')")
        conn.execute("INSERT INTO campaigns (name, status, settings, created_at, updated_at)"
                     " VALUES ('M', 'done', '{}', 't', 't')")
        for cid, decision in (("A", "holdout"), ("B", "below_target")):
            conn.execute("INSERT INTO campaign_rows (campaign_id, line, customerid, name, email, features, decision)"
                         " VALUES (1, 2, ?, '', 'x@y.org', '{}', ?)", (cid, decision))
    init_db(path)
    conn = connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == VERSION
    assert [tuple(r) for r in conn.execute("SELECT customerid, prediction_id, propensity, treated FROM decisions"
                                           " ORDER BY customerid")] == [("A", None, 1.0, 1), ("B", None, 0.0, 0)]
    assert [tuple(r) for r in conn.execute("SELECT customerid, propensity, explored, uplift FROM campaign_rows"
                                           " ORDER BY customerid")] == [("A", None, 0, None), ("B", 0.0, 0, None)]  # v8
    assert conn.execute("SELECT COUNT(*) FROM outcomes").fetchone()[0] == 0
    assert conn.execute("SELECT COUNT(*) FROM shadow_scores").fetchone()[0] == 0  # v7's, empty and ready
    assert conn.execute("SELECT COUNT(*) FROM shadow_cursors").fetchone()[0] == 0
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
