"""A campaign's rows in the database: created in one transaction with its rejects, then read for the
status, the report and the CSV downloads."""
from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from marketing_service.campaigns.settings import CampaignSettings
from marketing_service.campaigns.upload import Refusal
from marketing_service.customers.records import Customer
from marketing_service.storage import Connection, now_iso

CHUNK = 1000
ACTIVE = ("queued", "running", "waiting_for_churn")
ACTIVE_SQL = "('queued', 'running', 'waiting_for_churn')"  # for `status IN ...`


def create(conn: Connection, name: str, settings: CampaignSettings,
           rows: Iterable[tuple[int, Customer | Refusal]]) -> int:
    """Store the campaign, its accepted rows and its rejects in ONE transaction: an upload that fails half
    way (a file that turns out not to be UTF-8) leaves nothing behind. Returns the campaign id."""
    stamp = now_iso()
    with conn.transaction():
        campaign_id = conn.execute(
            "INSERT INTO campaigns (name, status, settings, created_at, updated_at) VALUES (?, 'queued', ?, ?, ?)"
            " RETURNING id", (name, json.dumps(settings.as_dict()), stamp, stamp)).fetchone()[0]
        first_line: dict[str, int] = {}
        accepted: list[tuple[Any, ...]] = []
        rejects: list[tuple[Any, ...]] = []
        total = 0
        for line, row in rows:
            total += 1
            if isinstance(row, Refusal):
                rejects.extend((campaign_id, line, row.customerid, f, m) for f, m in row.errors.items())
            elif row.customerid in first_line:
                rejects.append((campaign_id, line, row.customerid, "customerid",
                                f"appears again (first on line {first_line[row.customerid]}); only the first is used"))
            else:
                first_line[row.customerid] = line
                accepted.append((campaign_id, line, row.customerid, row.name, row.email, json.dumps(row.features)))
            if len(accepted) >= CHUNK:
                _insert(conn, accepted)
                accepted = []
        _insert(conn, accepted)
        conn.executemany("INSERT INTO campaign_rejects (campaign_id, line, customerid, field, message) VALUES (?, ?, ?, ?, ?)",
                         rejects)
        conn.execute("UPDATE campaigns SET rows = ?, accepted = ?, rejected = ? WHERE id = ?",
                     (total, len(first_line), total - len(first_line), campaign_id))
    return int(campaign_id)


def _insert(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    conn.executemany("INSERT INTO campaign_rows (campaign_id, line, customerid, name, email, features)"
                     " VALUES (?, ?, ?, ?, ?, ?)", rows)


def summary(conn: Connection, campaign_id: int) -> dict[str, Any] | None:
    """The status body of DESIGN §8."""
    row = conn.execute("SELECT * FROM campaigns WHERE id = ?", (campaign_id,)).fetchone()
    if row is None:
        return None
    counts = conn.execute(
        """SELECT COUNT(*) FILTER (WHERE scored = 1) AS scored,
                  COUNT(*) FILTER (WHERE decision IS NOT NULL AND decision != 'below_target') AS targeted,
                  COUNT(*) FILTER (WHERE decision = 'holdout') AS holdout,
                  COUNT(*) FILTER (WHERE decision = 'offer') AS offers,
                  COUNT(*) FILTER (WHERE decision = 'suppressed') AS suppressed
           FROM campaign_rows WHERE campaign_id = ?""", (campaign_id,)).fetchone()
    accepted = row["accepted"]
    # Scoring is 99 % of the work; the last step (decisions and offers in one transaction) takes it to 1.
    progress = 1.0 if row["status"] == "done" else (counts["scored"] / accepted * 0.99 if accepted else 0.0)
    return {"id": row["id"], "name": row["name"], "status": row["status"], "rows": row["rows"],
            "accepted": accepted, "rejected": row["rejected"], **dict(counts), "progress": round(progress, 4),
            "settings": json.loads(row["settings"]), "created_at": row["created_at"],
            "finished_at": row["finished_at"], "last_error": row["last_error"]}


def recent(conn: Connection, limit: int = 50) -> list[dict[str, Any]]:
    ids = [r[0] for r in conn.execute("SELECT id FROM campaigns ORDER BY id DESC LIMIT ?", (limit,))]
    return [s for i in ids if (s := summary(conn, i)) is not None]
