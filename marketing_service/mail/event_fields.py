"""One shape for every provider's mail events (DESIGN §12), `MailEvent`, and the readers of their fields: strict
about types and sizes, lenient where providers differ (an address with a display name, a Message-ID with or
without its angle brackets). Pure: no Flask, no database."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from email.utils import parseaddr
from typing import Any

PROVIDERS = ("generic", "ses", "sendgrid")
TYPES = ("bounce", "complaint", "delivered")
BOUNCE_TYPES = ("hard", "soft")
MAX_EVENTS = 10_000  # per request: SendGrid posts batches of at most 768 KB, SNS one notification
ID_MAX, ADDRESS_MAX, MESSAGE_ID_MAX = 255, 254, 998


@dataclass(frozen=True)
class MailEvent:
    provider: str  # one of PROVIDERS
    event_id: str  # the provider's id (or one derived from the item): a redelivery carries the same
    type: str  # one of TYPES
    email: str = ""  # lower case; "" when only the Message-ID names the recipient
    message_id: str = ""  # without its angle brackets
    bounce_type: str | None = None  # hard or soft, for a bounce

    @property
    def suppression(self) -> str | None:
        """The suppression reason this event alone calls for (soft bounces count up to one, see mail.feedback)."""
        if self.type == "complaint":
            return "complaint"
        return "hard_bounce" if self.type == "bounce" and self.bounce_type == "hard" else None


@dataclass
class Parsed:
    events: list[MailEvent] = field(default_factory=list)
    ignored: int = 0  # items of kinds we do not act on (opens, clicks, deferrals...)
    note: str = ""  # a word for whoever reads the answer (an SNS subscription waiting for confirmation)
    confirm_url: str = ""  # that subscription's SubscribeURL, for the log: never fetched here


class InvalidEvents(ValueError):
    """A payload refused whole: `details` name each bad item (`index`, for a list) and field."""

    def __init__(self, message: str, details: list[dict[str, Any]], status: int = 422, code: str = "invalid_events"):
        super().__init__(message)
        self.details, self.status, self.code = details, status, code


class Bad(ValueError):
    """One item's first problem: the field (a dotted path inside the item) and what is wrong with it."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


def text(item: dict[str, Any], key: str, limit: int, where: str = "", required: bool = False) -> str:
    """A string field, stripped; "" when absent (or null) and not required."""
    value = item.get(key)
    name = f"{where}{key}"
    if value is None:
        if required:
            raise Bad(name, "is required")
        return ""
    if not isinstance(value, str):
        raise Bad(name, f"must be a string, got {type(value).__name__}")
    value = value.strip()
    if len(value) > limit or not value.isprintable():
        raise Bad(name, f"must be printable text of at most {limit} characters")
    if required and not value:
        raise Bad(name, "must not be empty")
    return value


def shown(value: Any) -> str:
    """A refused value as an error message shows it: a short string as is, anything else by its type."""
    return repr(value[:40]) if isinstance(value, str) else type(value).__name__


def address(value: str) -> str:
    """An address as stored and compared: lower case, a display name ("Jane <jane@x.org>") dropped; "" when
    it is not one (no @, spaces inside)."""
    found = parseaddr(value)[1] if "<" in value else value
    found = found.strip().lower()
    return found if "@" in found.strip("@") and not any(c.isspace() for c in found) else ""


def bare_message_id(value: str) -> str:
    """A Message-ID without its angle brackets: `<offer-1.x@example.com>` and `offer-1.x@example.com` are one."""
    value = value.strip()
    return value[1:-1].strip() if value.startswith("<") and value.endswith(">") else value


def derived_id(item: Any) -> str:
    """A stable id for an item that carries none: the SHA-256 of its canonical JSON, so a resend is a duplicate."""
    try:
        canonical = json.dumps(item, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    except (ValueError, RecursionError):
        raise Bad("", "is nested too deeply") from None
    return "sha256:" + hashlib.sha256(canonical.encode("ascii")).hexdigest()
