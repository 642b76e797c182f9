"""What the pages and the JSON lists read of the offer outbox (DESIGN §5: `GET /offers`, `/api/offers`)."""
from __future__ import annotations

from typing import Any

from marketing_service.storage import Connection

# delivery_status (DESIGN §12): NULL before the first 250, then sent, delivered, bounced or complained
OFFER_COLUMNS = ("id, customerid, campaign, to_addr AS \"to\", subject, body, status, attempts, created_at, sent_at,"
                 " delivery_status, delivery_at")


def recent_offers(conn: Connection, limit: int) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(f"SELECT {OFFER_COLUMNS} FROM offers ORDER BY id DESC LIMIT ?", (limit,))]


def get_offer(conn: Connection, offer_id: int) -> dict[str, Any] | None:
    row = conn.execute(f"SELECT {OFFER_COLUMNS} FROM offers WHERE id = ?", (offer_id,)).fetchone()
    return dict(row) if row else None


def offer_for(conn: Connection, customerid: str, campaign: str) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT id, status FROM offers WHERE customerid = ? AND campaign = ?", (customerid, campaign)
    ).fetchone()
    return dict(row) if row else None
