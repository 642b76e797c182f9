"""A campaign's rows in the database: stored as the upload is read, then read for the status, the report and
the CSV downloads."""
from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

from marketing_service.campaigns.settings import CampaignSettings
from marketing_service.campaigns.upload import Refusal
from marketing_service.customers.records import Customer
from marketing_service.offers.mail_counts import mail_counts
from marketing_service.storage import Connection, iso_ago, now_iso

log = logging.getLogger(__name__)
CHUNK = 1000  # rows and rejects per transaction: each holds SQLite's write lock for milliseconds
ACTIVE = ("queued", "running", "waiting_for_churn")
ACTIVE_SQL = "('queued', 'running', 'waiting_for_churn')"  # for `status IN ...`
# A campaign whose upload is still being read: `failed` (so no worker picks it up) with this as its error,
# and hidden from every listing until its last row is in.
UPLOADING = "the customer list is still being read"
VISIBLE_SQL = "NOT (status = 'failed' AND COALESCE(last_error, '') = ?)"
STALE_UPLOAD_S = 600  # an upload with no batch stored for this long lost its worker; the next upload sweeps it


def create(conn: Connection, name: str, settings: CampaignSettings,
           rows: Iterable[tuple[int, Customer | Refusal]], created_by: str) -> int:
    """Store the campaign, its accepted rows and its rejects as `rows` yields them, CHUNK at a time, each chunk
    in a short transaction of its own: reading and checking a 50 MB file holds no write lock (on SQLite live
    intake would wait for it), and rejects go to storage as they are found rather than into a list. Until its
    last row is in, the campaign is hidden (UPLOADING); an upload that fails half way (a file that turns out
    not to be UTF-8) is deleted, so it leaves nothing behind. Returns the campaign id."""
    for stale in conn.execute("SELECT id FROM campaigns WHERE status = 'failed' AND last_error = ? AND updated_at < ?",
                              (UPLOADING, iso_ago(STALE_UPLOAD_S))).fetchall():
        _discard(conn, stale[0])
    stamp = now_iso()
    with conn.transaction():
        campaign_id = int(conn.execute(
            "INSERT INTO campaigns (name, status, last_error, settings, created_by, created_at, updated_at)"
            " VALUES (?, 'failed', ?, ?, ?, ?, ?) RETURNING id",
            (name, UPLOADING, json.dumps(settings.as_dict()), created_by, stamp, stamp)).fetchone()[0])
    try:
        total, accepted = _fill(conn, campaign_id, rows)
        with conn.transaction():
            conn.execute("UPDATE campaigns SET status = 'queued', last_error = NULL, rows = ?, accepted = ?, rejected = ?,"
                         " updated_at = ? WHERE id = ?", (total, accepted, total - accepted, now_iso(), campaign_id))
    except BaseException:
        _discard(conn, campaign_id)
        raise
    return campaign_id


def _fill(conn: Connection, campaign_id: int, rows: Iterable[tuple[int, Customer | Refusal]]) -> tuple[int, int]:
    """(rows read, rows accepted). Only the ids accepted so far stay in memory, to refuse a repeated one."""
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
        if len(accepted) + len(rejects) >= CHUNK:
            _store(conn, campaign_id, accepted, rejects)
            accepted, rejects = [], []
    _store(conn, campaign_id, accepted, rejects)
    return total, len(first_line)


def _store(conn: Connection, campaign_id: int, accepted: list[tuple[Any, ...]], rejects: list[tuple[Any, ...]]) -> None:
    with conn.transaction():
        conn.executemany("INSERT INTO campaign_rows (campaign_id, line, customerid, name, email, features)"
                         " VALUES (?, ?, ?, ?, ?, ?)", accepted)
        conn.executemany("INSERT INTO campaign_rejects (campaign_id, line, customerid, field, message)"
                         " VALUES (?, ?, ?, ?, ?)", rejects)
        conn.execute("UPDATE campaigns SET updated_at = ? WHERE id = ?", (now_iso(), campaign_id))  # still alive


def _discard(conn: Connection, campaign_id: int) -> None:
    """Delete an unfinished upload, CHUNK rows per transaction; if the database refuses now, the sweep of a
    later upload finishes the job (the campaign stays hidden meanwhile)."""
    try:
        for table, key in (("campaign_rejects", "line"), ("campaign_rows", "customerid")):
            while True:
                with conn.transaction():
                    if not conn.execute(f"DELETE FROM {table} WHERE campaign_id = ? AND {key} IN"
                                        f" (SELECT {key} FROM {table} WHERE campaign_id = ? LIMIT ?)",
                                        (campaign_id, campaign_id, CHUNK)).rowcount:
                        break
        with conn.transaction():
            conn.execute("DELETE FROM campaigns WHERE id = ?", (campaign_id,))
    except Exception:  # noqa: BLE001 - the upload's own error is the one to report
        log.exception("could not yet delete the unfinished upload of campaign %s", campaign_id)


def summary(conn: Connection, campaign_id: int) -> dict[str, Any] | None:
    """The status body of DESIGN §8, with the mail counts and the guardrail's state of DESIGN §12."""
    row = conn.execute(f"SELECT * FROM campaigns WHERE id = ? AND {VISIBLE_SQL}", (campaign_id, UPLOADING)).fetchone()
    if row is None:
        return None
    if row["finished_at"] is None:
        # Decisions are written only by the transaction that finishes the campaign, so until then only `scored` can
        # be non-zero, and the index counts it: polling a 100k-row campaign read every row's features (30 MB) each
        # time, on the cores that were scoring it.
        scored = conn.execute("SELECT COUNT(*) FROM campaign_rows WHERE campaign_id = ? AND scored = 1",
                              (campaign_id,)).fetchone()[0]
        counts = {"scored": scored, **dict.fromkeys(("targeted", "holdout", "offers", "explored", "suppressed"), 0)}
    else:
        counts = _decided_counts(conn, campaign_id)
    accepted = row["accepted"]
    # Scoring is 99 % of the work; the last step (decisions and offers in one transaction) takes it to 1, and a
    # campaign paused after it keeps it there.
    progress = 1.0 if row["finished_at"] else (counts["scored"] / accepted * 0.99 if accepted else 0.0)
    return {"id": row["id"], "name": row["name"], "status": row["status"], "rows": row["rows"],
            "accepted": accepted, "rejected": row["rejected"], **counts, "progress": round(progress, 4),
            **mail_counts(conn, campaign_id).as_dict(), "paused_reason": row["paused_reason"],
            "resumed_at": row["resumed_at"],
            "settings": json.loads(row["settings"]), "created_by": row["created_by"], "created_at": row["created_at"],
            "finished_at": row["finished_at"], "last_error": row["last_error"]}


def _decided_counts(conn: Connection, campaign_id: int) -> dict[str, int]:
    """Every count of the status body, in one pass over the campaign's rows."""
    return dict(conn.execute(
        """SELECT COUNT(*) FILTER (WHERE scored = 1) AS scored,
                  COUNT(*) FILTER (WHERE decision IS NOT NULL AND decision != 'below_target' AND explored = 0) AS targeted,
                  COUNT(*) FILTER (WHERE decision = 'holdout') AS holdout,
                  COUNT(*) FILTER (WHERE decision = 'offer') AS offers,
                  COUNT(*) FILTER (WHERE decision = 'offer' AND explored = 1) AS explored,
                  COUNT(*) FILTER (WHERE decision = 'suppressed') AS suppressed
           FROM campaign_rows WHERE campaign_id = ?""", (campaign_id,)).fetchone())


def recent(conn: Connection, limit: int = 50) -> list[dict[str, Any]]:
    ids = [r[0] for r in conn.execute(f"SELECT id FROM campaigns WHERE {VISIBLE_SQL} ORDER BY id DESC LIMIT ?",
                                      (UPLOADING, limit))]
    return [s for i in ids if (s := summary(conn, i)) is not None]
