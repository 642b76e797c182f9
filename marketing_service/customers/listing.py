"""What the pages and the JSON lists read of customers: each with its latest decision and its reasons in words."""
from __future__ import annotations

import json
from typing import Any

from marketing_service.customers.reasons import reason_phrases
from marketing_service.storage import Connection

CUSTOMER_COLUMNS = ("customerid, name, email, status, churn_probability, churn, model_version, reasons,"
                    " last_error AS reason, created_at, updated_at")


def recent_customers(conn: Connection, limit: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        f"SELECT {CUSTOMER_COLUMNS} FROM customers ORDER BY updated_at DESC, rowid DESC LIMIT ?", (limit,)
    )
    return [_customer_dict(r) for r in rows]


def get_customer(conn: Connection, customerid: str) -> dict[str, Any] | None:
    row = conn.execute(f"SELECT {CUSTOMER_COLUMNS} FROM customers WHERE customerid = ?", (customerid,)).fetchone()
    return _customer_dict(row) if row else None


def _customer_dict(row: Any) -> dict[str, Any]:
    data = dict(row)
    data["churn"] = None if data["churn"] is None else bool(data["churn"])
    data["reasons"] = reason_phrases(json.loads(data["reasons"] or "[]"))
    return data
