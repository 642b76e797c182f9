"""What a campaign's mail did (DESIGN §12): sent, delivered, bounced and complained, with the two rates the
guardrail watches. Counted from each offer's own delivery_status, so every offer counts once however many
provider events it drew; a 550 at RCPT (delivery_status `bounced`) and a bounce event count alike. The
campaign page, the API and the guardrail all read these numbers here."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from marketing_service.storage import Connection


def campaign_label(campaign_id: int) -> str:
    """The `campaign` column of a campaign's offers (campaigns/processing.py writes them so)."""
    return f"campaign-{campaign_id}"


@dataclass(frozen=True)
class MailCounts:
    sent: int = 0  # offers with any delivery status: the server took them (250), or refused them at RCPT
    delivered: int = 0
    bounced: int = 0  # hard bounces: a 550/551/553 at RCPT, or a provider's bounce event
    complained: int = 0

    @property
    def bounce_rate(self) -> float | None:
        return self.bounced / self.sent if self.sent else None

    @property
    def complaint_rate(self) -> float | None:
        return self.complained / self.sent if self.sent else None

    def as_dict(self) -> dict[str, Any]:
        """The fields of GET /api/campaigns/<id>; a rate is null before anything is sent."""
        rates = {"bounce_rate": self.bounce_rate, "complaint_rate": self.complaint_rate}
        return {"sent": self.sent, "delivered": self.delivered, "bounced": self.bounced, "complained": self.complained,
                **{k: None if v is None else round(v, 6) for k, v in rates.items()}}


def mail_counts(conn: Connection, campaign_id: int, since: str | None = None) -> MailCounts:
    """The campaign's offers by delivery status; with `since` (a timestamp), only those whose status changed
    after it (the guardrail, after a marketer resumed the campaign)."""
    since_sql, args = (" AND delivery_at > ?", (since,)) if since else ("", ())
    found = dict.fromkeys(("sent", "delivered", "bounced", "complained"), 0)
    for status, n in conn.execute(
            f"SELECT delivery_status, COUNT(*) FROM offers WHERE campaign = ? AND delivery_status IS NOT NULL{since_sql}"
            " GROUP BY delivery_status", (campaign_label(campaign_id), *args)):
        found["sent"] += n
        if status in found and status != "sent":
            found[status] += n
    return MailCounts(**found)
