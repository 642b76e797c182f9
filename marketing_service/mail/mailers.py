"""Deliver offer emails: `log` writes RFC 5322 .eml files (the mock), `smtp` sends them (smtp.py)."""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Protocol

from marketing_service.mail.message import Mail
from marketing_service.mail.smtp import SmtpMailer


class Mailer(Protocol):
    timeout_s: float  # the longest one send may take; claims are sized by it
    # Sending again replaces what was sent rather than adding to it, so marks may follow a few sends later
    # (see delivery.py); otherwise each send is marked before the next is made.
    idempotent: bool

    def send(self, mail: Mail, offer_id: int) -> None:
        """Raises mail.failures.SendFailure (or OSError) when the message was not surely accepted."""

    def settle(self) -> None:
        """Make every send so far durable; called before sends are marked `sent`."""


class LogMailer:
    """Writes `offer-<id>.eml` atomically and durably; writing it again replaces it, so a retry never doubles it."""

    timeout_s = 1.0
    idempotent = True

    def __init__(self, mail_dir: Path):
        self.mail_dir = mail_dir
        mail_dir.mkdir(parents=True, exist_ok=True)

    def send(self, mail: Mail, offer_id: int) -> None:
        target = self.mail_dir / f"offer-{offer_id}.eml"
        # A name no other thread or process is writing, so no random name (tempfile) is needed.
        partial = self.mail_dir / f".tmp-offer-{offer_id}-{os.getpid()}-{threading.get_ident()}"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            try:
                view = memoryview(mail.data)
                while view:
                    view = view[os.write(fd, view):]
                os.fchmod(fd, 0o644)  # whatever the umask: the mail dir is read by other tools
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(partial, target)
        except BaseException:
            # A full disk (or any failure) must not leave the half-written file: it would fill the disk further
            # with every retry of a name that differs per thread.
            partial.unlink(missing_ok=True)
            raise

    def settle(self) -> None:
        """The renames reach the disk with the directory: without this, a power cut could lose a file whose
        offer is already marked sent. Once per batch of marks (see delivery.py), not once per email."""
        fd = os.open(self.mail_dir, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def make_mailer(kind: str, mail_dir: Path, smtp_host: str, smtp_port: int) -> Mailer:
    return SmtpMailer(smtp_host, smtp_port) if kind == "smtp" else LogMailer(mail_dir)
