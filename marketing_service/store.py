"""What the pages and the JSON lists read: customers with their decisions, and the offer outbox."""
from __future__ import annotations

import json
import sqlite3
from typing import Any

from marketing_service.reason_words import reason_phrases

CUSTOMER_COLUMNS = ("customerid, name, email, status, churn_probability, churn, model_version, reasons,"
                    " last_error AS reason, created_at, updated_at")
OFFER_COLUMNS = "id, customerid, campaign, to_addr AS \"to\", subject, body, status, attempts, created_at, sent_at"


def recent_customers(conn: sqlite3.Connection, limit: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        f"SELECT {CUSTOMER_COLUMNS} FROM customers ORDER BY updated_at DESC, rowid DESC LIMIT ?", (limit,)
    )
    return [_customer_dict(r) for r in rows]


def get_customer(conn: sqlite3.Connection, customerid: str) -> dict[str, Any] | None:
    row = conn.execute(f"SELECT {CUSTOMER_COLUMNS} FROM customers WHERE customerid = ?", (customerid,)).fetchone()
    return _customer_dict(row) if row else None


def _customer_dict(row: sqlite3.Row) -> dict[str, Any]:
    data = dict(row)
    data["churn"] = None if data["churn"] is None else bool(data["churn"])
    data["reasons"] = reason_phrases(json.loads(data["reasons"] or "[]"))
    return data


def recent_offers(conn: sqlite3.Connection, limit: int) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(f"SELECT {OFFER_COLUMNS} FROM offers ORDER BY id DESC LIMIT ?", (limit,))]


def get_offer(conn: sqlite3.Connection, offer_id: int) -> dict[str, Any] | None:
    row = conn.execute(f"SELECT {OFFER_COLUMNS} FROM offers WHERE id = ?", (offer_id,)).fetchone()
    return dict(row) if row else None


def offer_for(conn: sqlite3.Connection, customerid: str, campaign: str) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT id, status FROM offers WHERE customerid = ? AND campaign = ?", (customerid, campaign)
    ).fetchone()
    return dict(row) if row else None
