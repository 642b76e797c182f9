"""Each offer's one Message-ID (DESIGN §12), fixed when the offer is written and sent by every attempt, so a
provider or an inbox can recognise a second copy. `<offer-ID.SLUG@DOMAIN>`: the id makes it unique, the slug
(the campaign, in ASCII letters, digits and hyphens) makes it readable, and both sides are RFC 5322 dot-atoms
whatever the campaign is called."""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from marketing_service.storage import Connection

SLUG_MAX = 40
NOT_ATOM = re.compile(r"[^a-z0-9]+")


def slug(campaign: str) -> str:
    """"Rétention d'été 2026" -> "retention-d-ete-2026"; a name with no ASCII letter in it -> "offer"."""
    ascii_text = unicodedata.normalize("NFKD", campaign).encode("ascii", "ignore").decode().lower()
    return NOT_ATOM.sub("-", ascii_text).strip("-")[:SLUG_MAX].strip("-") or "offer"


def message_id(offer_id: int, campaign: str, domain: str) -> str:
    return f"<offer-{offer_id}.{slug(campaign)}@{domain}>"


def assign(conn: Connection, offer_ids: Iterable[int], domain: str) -> None:
    """Give the new offers among `offer_ids` their Message-ID, inside the transaction that wrote them; one that
    has one keeps it."""
    ids = list(offer_ids)
    if not ids:
        return
    marks = ", ".join("?" * len(ids))
    rows = conn.execute(f"SELECT id, campaign FROM offers WHERE id IN ({marks}) AND message_id IS NULL", ids).fetchall()
    conn.executemany("UPDATE offers SET message_id = ? WHERE id = ?",
                     [(message_id(row[0], row[1], domain), row[0]) for row in rows])
