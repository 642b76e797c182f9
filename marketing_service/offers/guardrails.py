"""The mail guardrail of DESIGN §12, said once: a campaign whose mail is still going pauses itself when, after
at least MIN_SENDS sends, its hard-bounce rate reaches 5 % or its complaint rate 0.1 %. Mailbox providers block
senders not far above those lines (Gmail and Yahoo want bulk senders under 0.3 % complaints; SES pauses a
sender at 10 % bounces), so we stop well before them. A paused campaign's queued offers wait (the outbox claim
skips them) until a marketer resumes it; from then on only what happened after the resume counts."""
from __future__ import annotations

import logging
from fractions import Fraction

from marketing_service.offers.mail_counts import MailCounts, mail_counts
from marketing_service.storage import Connection, now_iso
from marketing_service.storage.mail_schema import NEVER

log = logging.getLogger(__name__)
MIN_SENDS = 100
BOUNCE_LIMIT = Fraction(5, 100)  # exact fractions: 5 bounces in 100 sends is at the line, not a rounding below it
COMPLAINT_LIMIT = Fraction(1, 1000)
SENDING_SQL = "('done', 'running')"  # the statuses a campaign's offers go out in
# Offers of the campaign not sent yet and not given up: queued, or failed with a retry still ahead. The
# (campaign, delivery_status) index finds them among a finished campaign's sent ones at once.
UNSENT_SQL = """SELECT 1 FROM offers WHERE campaign = 'campaign-' || campaigns.id AND delivery_status IS NULL
                  AND (status = 'queued' OR (status = 'failed' AND next_attempt_at < ?))"""


def _percent(limit: Fraction) -> str:
    return f"{float(limit * 100):g} %"


def describe() -> str:
    """The rule in words, for the campaign page."""
    return (f"A campaign pauses itself if, after at least {MIN_SENDS} sends, its hard-bounce rate reaches"
            f" {_percent(BOUNCE_LIMIT)} or its complaint rate {_percent(COMPLAINT_LIMIT)}.")


def breach(counts: MailCounts, since_resume: bool = False) -> str | None:
    """Why these counts pause a campaign, as a sentence for its page and the API; None within the limits."""
    if counts.sent < MIN_SENDS:
        return None
    over = []
    if Fraction(counts.bounced, counts.sent) >= BOUNCE_LIMIT:
        over.append(f"hard-bounce rate {100 * counts.bounced / counts.sent:.1f} % ≥ {_percent(BOUNCE_LIMIT)}")
    if Fraction(counts.complained, counts.sent) >= COMPLAINT_LIMIT:
        over.append(f"complaint rate {100 * counts.complained / counts.sent:.2f} % ≥ {_percent(COMPLAINT_LIMIT)}")
    if not over:
        return None
    return f"{' and '.join(over)} after {counts.sent} sends{' since it was resumed' if since_resume else ''}"


def pause_unhealthy(conn: Connection) -> list[int]:
    """Pause every campaign still sending whose counts breach the limits; the ids paused. Called by the
    background loop after each delivery pass, so a campaign stops within a pass of crossing the line."""
    sending = conn.execute(f"SELECT id, resumed_at FROM campaigns WHERE status IN {SENDING_SQL} AND EXISTS ({UNSENT_SQL})"
                           " ORDER BY id", (NEVER,)).fetchall()
    paused = []
    for campaign_id, resumed_at in sending:
        reason = breach(mail_counts(conn, campaign_id, since=resumed_at), since_resume=resumed_at is not None)
        if reason is None:
            continue
        with conn.transaction():
            # Unchanged since it was read: a campaign a marketer resumed meanwhile is judged afresh next pass.
            changed = conn.execute(
                f"UPDATE campaigns SET status = 'paused', paused_reason = ?, updated_at = ? WHERE id = ?"
                f" AND status IN {SENDING_SQL} AND COALESCE(resumed_at, '') = ?",
                (reason, now_iso(), campaign_id, resumed_at or "")).rowcount
        if changed:
            log.warning("campaign %s paused: %s", campaign_id, reason)
            paused.append(campaign_id)
    return paused


def resume(conn: Connection, campaign_id: int, by: str) -> bool:
    """A marketer resumes a paused campaign: back to `done` once its offers are written (finished_at), else to
    `running`; the guardrail counts from now. False if it is not paused."""
    stamp = now_iso()
    with conn.transaction():
        changed = conn.execute(
            "UPDATE campaigns SET status = CASE WHEN finished_at IS NULL THEN 'running' ELSE 'done' END,"
            " paused_reason = NULL, resumed_at = ?, updated_at = ? WHERE id = ? AND status = 'paused'",
            (stamp, stamp, campaign_id)).rowcount
    if changed:
        log.info("campaign %s resumed by %s", campaign_id, by)
    return bool(changed)
