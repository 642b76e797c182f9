"""One offer as an RFC 5322 message: its bytes, and the envelope an SMTP server needs.

The standard library's `EmailMessage` parses every header it is given through its header registry and
folds it again on output: about half a millisecond an email, the largest single cost of delivery under
load. An offer is nearly always plain (ASCII words, a bare address, short lines), and for such values that
round trip changes nothing, so the same bytes are written directly; anything else (a name with an accent,
an unusual address, a long line) still goes through `EmailMessage`. tests/unit/test_mail_message.py checks
the two give the same bytes wherever the direct way is taken.
"""
from __future__ import annotations

import email.policy
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from functools import lru_cache
from typing import Any

# Long header values (the unsubscribe URL) are folded at spaces only, never turned into RFC 2047 encoded
# words, which mail clients would not read as a URL. 998 is RFC 5322's hard line limit.
POLICY = email.policy.default.clone(max_line_length=998)
# What the header registry leaves as it is: printable ASCII words with single spaces between them, and no
# "=?" (which it would read as an encoded word).
PLAIN_TEXT = re.compile(r"(?!.*=\?)[\x21-\x7e]+(?: [\x21-\x7e]+)*")
ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
PLAIN_ADDRESS = re.compile(rf"{ATOM}(?:\.{ATOM})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")
LINE_LIMIT = 900  # comfortably under the 998 at which the registry would fold


@dataclass(frozen=True)
class Mail:
    sender: str  # envelope addresses
    recipient: str
    data: bytes  # the message, lines ending in \n (an SMTP sender turns them into \r\n)


def render(offer: Any, mail_from: str, unsubscribe_url: str) -> Mail:
    date = format_datetime(datetime.now(UTC))
    # The offer's one Message-ID, fixed when it was written (offers/message_ids.py): every attempt sends the same.
    headers = _headers(offer, mail_from, unsubscribe_url, date, offer["message_id"])
    body = f"{offer['body']}\n--\nNo more offers from us: {unsubscribe_url}\n"
    data = _plain(headers, body, mail_from) or _through_email_message(headers, body)
    return Mail(parseaddr(mail_from)[1], offer["to_addr"], data)


def _headers(offer: Any, mail_from: str, unsubscribe_url: str, date: str, message_id: str) -> list[tuple[str, str]]:
    return [
        ("From", mail_from), ("To", offer["to_addr"]), ("Subject", offer["subject"]), ("Date", date),
        ("Message-ID", message_id), ("X-Offer-Id", str(offer["id"])),
        # RFC 8058 one-click: mail clients show an unsubscribe button that POSTs to the signed URL.
        ("List-Unsubscribe", f"<{unsubscribe_url}>"), ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
    ]


def _through_email_message(headers: list[tuple[str, str]], body: str) -> bytes:
    message = EmailMessage(policy=POLICY)
    for name, value in headers:
        message[name] = value
    message.set_content(body)
    return message.as_bytes()


@lru_cache(maxsize=16)
def _from_line(mail_from: str) -> str | None:
    """The From line as the registry writes it (a display name may be re-quoted); the sender is configured
    once, so this runs once."""
    first, second = _through_email_message([("From", mail_from)], "").decode("ascii", "replace").split("\n")[:2]
    return first if first.startswith("From: ") and not second.startswith((" ", "\t")) else None


def _plain(headers: list[tuple[str, str]], body: str, mail_from: str) -> bytes | None:
    """The message written directly, or None when a value is not plain enough to be sure it comes out the
    same as through `EmailMessage`."""
    from_line = _from_line(mail_from)
    if from_line is None or not PLAIN_ADDRESS.fullmatch(headers[1][1]):
        return None
    lines = [from_line]
    for name, value in headers[1:]:
        if not PLAIN_TEXT.fullmatch(value) or len(name) + len(value) + 2 > LINE_LIMIT:
            return None
        lines.append(f"{name}: {value}")
    if not body.isascii() or "\r" in body:
        return None
    body_lines = body.encode("ascii").splitlines()  # as set_content splits it: at \n only, here
    if max(map(len, body_lines), default=0) > LINE_LIMIT:
        return None
    lines += ['Content-Type: text/plain; charset="utf-8"', "Content-Transfer-Encoding: 7bit", "MIME-Version: 1.0"]
    return ("\n".join(lines) + "\n\n").encode("ascii") + b"\n".join(body_lines) + b"\n"
