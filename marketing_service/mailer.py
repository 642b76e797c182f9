"""Deliver offer emails: `log` writes RFC 5322 .eml files (the mock), `smtp` sends them."""
from __future__ import annotations

import email.policy
import os
import smtplib
import tempfile
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any, Protocol

# Long header values (the unsubscribe URL) are folded at spaces only, never turned into RFC 2047 encoded
# words, which mail clients would not read as a URL. 998 is RFC 5322's hard line limit.
POLICY = email.policy.default.clone(max_line_length=998)


def build_message(offer: Any, mail_from: str, unsubscribe_url: str) -> EmailMessage:
    message = EmailMessage(policy=POLICY)
    message["From"] = mail_from
    message["To"] = offer["to_addr"]
    message["Subject"] = offer["subject"]
    message["Date"] = formatdate(usegmt=True)
    # One Message-ID per offer: a resend after a crash is recognisably the same email.
    message["Message-ID"] = make_msgid(idstring=f"offer-{offer['id']}-{offer['campaign']}", domain="churn.local")
    message["X-Offer-Id"] = str(offer["id"])
    # RFC 8058 one-click: mail clients show an unsubscribe button that POSTs to the signed URL.
    message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(f"{offer['body']}\n--\nNo more offers from us: {unsubscribe_url}\n")
    return message


class Mailer(Protocol):
    timeout_s: float  # the longest one send may take; claims are sized by it

    def send(self, message: EmailMessage, offer_id: int) -> None: ...


class LogMailer:
    """Writes `offer-<id>.eml` atomically; writing it again replaces it, so a retry never doubles it."""

    timeout_s = 1.0

    def __init__(self, mail_dir: Path):
        self.mail_dir = mail_dir
        mail_dir.mkdir(parents=True, exist_ok=True)

    def send(self, message: EmailMessage, offer_id: int) -> None:
        target = self.mail_dir / f"offer-{offer_id}.eml"
        with tempfile.NamedTemporaryFile(dir=self.mail_dir, prefix=".tmp-", delete=False) as tmp:
            tmp.write(message.as_bytes())
            tmp.flush()
            os.fsync(tmp.fileno())
        os.chmod(tmp.name, 0o644)
        os.replace(tmp.name, target)


class SmtpMailer:
    def __init__(self, host: str, port: int, timeout_s: float = 10.0):
        self.host, self.port, self.timeout_s = host, port, timeout_s

    def send(self, message: EmailMessage, offer_id: int) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
            smtp.send_message(message)


def make_mailer(kind: str, mail_dir: Path, smtp_host: str, smtp_port: int) -> Mailer:
    return SmtpMailer(smtp_host, smtp_port) if kind == "smtp" else LogMailer(mail_dir)
