"""Campaign work, done by the background loop of every marketing worker (DESIGN §8): score leased chunks of
rows through churn's /predict/batch, then, once every row is scored, decide and create the offers in ONE
transaction. A killed worker's lease expires and another takes the rows; nothing is decided twice, since
the decisions and offers are written only by the transaction that marks the campaign done."""
from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from marketing_service.campaigns import uplift_model
from marketing_service.campaigns.settings import CampaignSettings
from marketing_service.campaigns.store import ACTIVE, ACTIVE_SQL
from marketing_service.campaigns.targeting import ScoredRow, decide, is_explored, may_get_offer, propensity
from marketing_service.campaigns.uplift_model import NotEnoughHistory
from marketing_service.churn_client import ChurnClient, ChurnRejected, ChurnUnavailable
from marketing_service.customers.decisions import Decision, record
from marketing_service.offers.rules import OfferRules, blocked
from marketing_service.offers.wording import compose_offer
from marketing_service.storage import Connection, now_iso
from marketing_service.storage.dialect import for_update, in_lock_order, skip_locked

log = logging.getLogger(__name__)
CHUNK = 1000


def work_once(conn: Connection, client: ChurnClient, lease_s: float, rules: OfferRules) -> bool:
    """One step of the oldest unfinished campaign; True if it did something (the loop then goes on at once)."""
    row = conn.execute(f"SELECT id, settings FROM campaigns WHERE status IN {ACTIVE_SQL} ORDER BY id LIMIT 1").fetchone()
    if row is None:
        return False
    campaign_id, settings = row["id"], CampaignSettings(**json.loads(row["settings"]))
    token, rows = _claim(conn, campaign_id, lease_s)
    if rows:
        return _score(conn, client, campaign_id, settings, token, rows)
    return finish(conn, campaign_id, settings, rules)


def _claim(conn: Connection, campaign_id: int, lease_s: float) -> tuple[str, list[Any]]:
    now, token = time.time(), secrets.token_hex(8)
    with conn.transaction():
        rows = conn.execute(
            f"""UPDATE campaign_rows SET claimed_until = ?, lease_token = ? WHERE campaign_id = ? AND customerid IN (
                 SELECT customerid FROM campaign_rows WHERE campaign_id = ? AND scored = 0 AND claimed_until <= ?
                 LIMIT ?{skip_locked(conn)}) RETURNING customerid, line, features""",
            (now + lease_s, token, campaign_id, campaign_id, now, CHUNK)).fetchall()
    return token, rows


def _release(conn: Connection, campaign_id: int, token: str, status: str | None, error: str | None) -> None:
    with conn.transaction():
        conn.execute("UPDATE campaign_rows SET claimed_until = 0, lease_token = NULL WHERE campaign_id = ? AND lease_token = ?",
                     (campaign_id, token))
        if status:
            conn.execute("UPDATE campaigns SET status = ?, last_error = ?, updated_at = ?"
                         f" WHERE id = ? AND status IN {ACTIVE_SQL}", (status, error, now_iso(), campaign_id))


def _score(conn: Connection, client: ChurnClient, campaign_id: int, settings: CampaignSettings, token: str,
           rows: Sequence[Any]) -> bool:
    features = [json.loads(r["features"]) for r in rows]
    try:
        scores = client.score(features)
    except ChurnUnavailable as exc:
        log.warning("campaign %s waits for churn: %s", campaign_id, exc)
        _release(conn, campaign_id, token, "waiting_for_churn", str(exc))
        return False
    except ChurnRejected as exc:
        _refuse(conn, campaign_id, token, rows, exc)
        return True
    with conn.transaction():
        conn.executemany(
            """UPDATE campaign_rows SET scored = 1, churn_probability = ?, churn = ?, expected_value = ?, model_version = ?,
                 reasons = ?, prediction_id = ?, claimed_until = 0, lease_token = NULL
               WHERE campaign_id = ? AND customerid = ? AND lease_token = ?""",
            [(s.churn_probability, int(s.churn), settings.expected_value(s.churn_probability, f["monthlycharges"]),
              s.model_version, json.dumps([list(r) for r in s.reasons]), s.prediction_id, campaign_id, r["customerid"],
              token)
             for r, f, s in zip(rows, features, scores, strict=True)])
        conn.execute("UPDATE campaigns SET status = 'running', last_error = NULL, updated_at = ?"
                     f" WHERE id = ? AND status IN {ACTIVE_SQL}", (now_iso(), campaign_id))
    return True


def _refuse(conn: Connection, campaign_id: int, token: str, rows: Sequence[Any], exc: ChurnRejected) -> None:
    """Rows churn refused become rejects with its reason; the others of the chunk are scored next pass."""
    refused = [(i, r) for i, r in enumerate(rows) if exc.reason_for(i)]
    with conn.transaction():
        conn.executemany("INSERT INTO campaign_rejects (campaign_id, line, customerid, field, message)"
                         " VALUES (?, ?, ?, 'churn', ?)",
                         [(campaign_id, r["line"], r["customerid"], f"refused by churn: {exc.reason_for(i)}")
                          for i, r in refused])
        conn.executemany("DELETE FROM campaign_rows WHERE campaign_id = ? AND customerid = ? AND lease_token = ?",
                         [(campaign_id, r["customerid"], token) for _, r in refused])
        conn.execute("UPDATE campaigns SET accepted = accepted - ?, rejected = rejected + ? WHERE id = ?",
                     (len(refused), len(refused), campaign_id))
        conn.execute("UPDATE campaign_rows SET claimed_until = 0, lease_token = NULL WHERE campaign_id = ? AND lease_token = ?",
                     (campaign_id, token))


def finish(conn: Connection, campaign_id: int, settings: CampaignSettings, base: OfferRules) -> bool:
    """Decide every row and create the offers, in one transaction, once nothing is left to score. In uplift mode
    the uplift model is fitted first, on the history at this moment and outside the transaction (a few seconds on
    100k labelled rows, while SQLite's write lock would stop live intake); when it cannot be, the campaign fails."""
    model: uplift_model.UpliftModel | None = None
    refusal: NotEnoughHistory | None = None
    if settings.mode == "uplift":
        if conn.execute("SELECT 1 FROM campaign_rows WHERE campaign_id = ? AND scored = 0 LIMIT 1",
                        (campaign_id,)).fetchone():
            return False  # rows still leased to another worker: fit once they are in
        try:
            model = uplift_model.from_history(conn)
        except NotEnoughHistory as exc:
            refusal = exc
    with conn.transaction():
        # Locked on PostgreSQL: two workers finishing at once would both decide (SQLite serialises them).
        status = conn.execute(f"SELECT status FROM campaigns WHERE id = ?{for_update(conn)}", (campaign_id,)).fetchone()[0]
        left = conn.execute("SELECT 1 FROM campaign_rows WHERE campaign_id = ? AND scored = 0 LIMIT 1", (campaign_id,))
        if status not in ACTIVE or left.fetchone():
            return False
        scored = conn.execute("""SELECT customerid, name, email, features, churn_probability, churn, expected_value,
                                        model_version, reasons, prediction_id FROM campaign_rows WHERE campaign_id = ?""",
                              (campaign_id,)).fetchall()
        if refusal is not None:
            log.warning("campaign %s failed: %s", campaign_id, refusal)
            conn.execute("UPDATE campaigns SET status = 'failed', last_error = ?, updated_at = ? WHERE id = ?",
                         (str(refusal), now_iso(), campaign_id))
            return True
        rows = _scored_rows(settings, scored, model)
        rules = replace(base, campaign=f"campaign-{campaign_id}")
        asked = [(row.customerid, row.email) for row in rows if may_get_offer(campaign_id, settings, row)]
        decisions = decide(campaign_id, settings, rows, blocked(conn, asked, rules.cooldown_days))
        explored = {row.customerid for row in rows if is_explored(campaign_id, settings, row)}  # drawn, offered or not
        offers = _create_offers(conn, rules, [r for r in scored if decisions[r["customerid"]] == "offer"],
                                {c: propensity("offer", settings, c in explored) for c in decisions})
        conn.executemany("UPDATE campaign_rows SET decision = ?, offer_id = ?, propensity = ?, explored = ?, uplift = ?,"
                         " expected_value = ? WHERE campaign_id = ? AND customerid = ?",
                         [(decisions[row.customerid], offers.get(row.customerid),
                           propensity(decisions[row.customerid], settings, row.customerid in explored),
                           int(row.customerid in explored), row.uplift, row.expected_value, campaign_id, row.customerid)
                          for row in rows])
        conn.execute("UPDATE campaigns SET status = 'done', finished_at = ?, updated_at = ? WHERE id = ?",
                     (now_iso(), now_iso(), campaign_id))
    log.info("campaign %s done: %d customers, %d offers (%d explored)", campaign_id, len(scored), len(offers),
             sum(decisions[c] == "offer" for c in explored))
    return True


def _scored_rows(settings: CampaignSettings, scored: Sequence[Any],
                 model: uplift_model.UpliftModel | None) -> list[ScoredRow]:
    """The rows as targeting sees them; with an uplift model, with their predicted uplift and uplift · value − cost
    as their expected value (what the budget ranks by)."""
    rows = [ScoredRow(r["customerid"], r["email"], r["churn_probability"], bool(r["churn"]), r["expected_value"])
            for r in scored]
    if model is None or not rows:
        return rows
    features = [json.loads(r["features"]) for r in scored]
    uplifts = model.predict(features)
    return [replace(row, uplift=float(u), expected_value=settings.uplift_value(float(u), f["monthlycharges"]))
            for row, u, f in zip(rows, uplifts, features, strict=True)]


def _create_offers(conn: Connection, rules: OfferRules, rows: Sequence[Any], chance: Mapping[str, float]) -> dict[str, int]:
    """The offered customers join the customer list with their decision (and its propensity, `chance`), and their
    offers join the outbox."""
    stamp = now_iso()
    conn.executemany(
        """INSERT INTO customers (customerid, name, email, features, status, created_at, updated_at)
           VALUES (?, ?, ?, ?, 'pending', ?, ?) ON CONFLICT (customerid) DO UPDATE SET name = excluded.name,
             email = excluded.email, features = excluded.features, updated_at = excluded.updated_at""",
        [(r["customerid"], r["name"], r["email"], r["features"], stamp, stamp)
         for r in in_lock_order(conn, rows, lambda r: r["customerid"])])
    decisions = [Decision(r["customerid"], r["churn_probability"], bool(r["churn"]), r["model_version"],
                          compose_offer(r["name"], json.loads(r["features"]), r["churn_probability"]), r["reasons"] or "[]",
                          r["prediction_id"], chance[r["customerid"]])
                 for r in rows]
    # The campaign left out everyone the offer rules block; `record` asks them again as it writes.
    offers = record(conn, decisions, rules, stamp)
    return {customerid: row["id"] for customerid, row in offers.items() if row is not None}
