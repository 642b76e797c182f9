"""Sending one message over SMTP with DESIGN §12's exact semantics.

The message is accepted at the 250 reply to the end of DATA, whatever QUIT does afterwards. Every step runs
against one deadline for the whole send (each reply waits only for what is left of it), so a slow server
cannot stretch a send past the lease it was started under. Only one failure is ambiguous: the final dot has
gone out and the reply is lost; the server may hold the message, so the retry reuses its Message-ID.
"""
from __future__ import annotations

import re
import smtplib
import time
from collections.abc import Callable

from marketing_service.mail.failures import SendFailure, from_reply
from marketing_service.mail.message import Mail

LEADING_DOT = re.compile(rb"(?m)^\.")
QUIT_WAIT_S = 1.0  # a polite goodbye, never waited on for long: the message is already accepted or refused


class SmtpMailer:
    idempotent = False  # a second send is a second email

    def __init__(self, host: str, port: int, timeout_s: float = 10.0):
        self.host, self.port, self.timeout_s = host, port, timeout_s

    def settle(self) -> None:
        """The server took each message before `send` returned."""

    def send(self, mail: Mail, offer_id: int) -> None:
        """Returns once the server answered 250 to the message; raises SendFailure otherwise."""
        deadline = time.monotonic() + self.timeout_s
        smtp = smtplib.SMTP(timeout=self.timeout_s)
        try:
            try:
                code, reply = smtp.connect(self.host, self.port)
                if code != 220:  # 421 (busy) at the greeting: retried; a 554 greeting: final
                    raise from_reply(code, reply, "greeting")
                _remaining(smtp, deadline)
                if smtp.ehlo()[0] != 250:  # an old server: HELO, and no extensions
                    self._command(smtp, deadline, "HELO", smtp.helo, (250,))
                utf8 = () if (mail.sender + mail.recipient).isascii() else ("SMTPUTF8",)
                self._command(smtp, deadline, "MAIL FROM", lambda: smtp.mail(mail.sender, utf8), (250,))
                self._command(smtp, deadline, "RCPT TO", lambda: smtp.rcpt(mail.recipient), (250, 251))
                self._command(smtp, deadline, "DATA", lambda: smtp.docmd("DATA"), (354,))
                _remaining(smtp, deadline)
                smtp.send(_dot_stuffed(mail.data))
            except smtplib.SMTPResponseException as exc:  # a reply smtplib raised on itself (a 421 closing, say)
                raise from_reply(exc.smtp_code, exc.smtp_error, "SMTP") from None
            except (OSError, smtplib.SMTPException) as exc:  # nothing accepted yet: a plain retry
                raise SendFailure(f"{type(exc).__name__}: {exc}") from None
            try:  # the final dot is out: from here a lost reply leaves the message's fate unknown
                _remaining(smtp, deadline)
                code, reply = smtp.getreply()
            except (OSError, smtplib.SMTPException) as exc:
                raise SendFailure(f"no reply to the end of DATA ({type(exc).__name__}: {exc})", ambiguous=True) from None
            if code != 250:
                raise from_reply(code, reply, "end of DATA")
        finally:
            _goodbye(smtp)

    @staticmethod
    def _command(smtp: smtplib.SMTP, deadline: float, stage: str, call: Callable[[], tuple[int, bytes]],
                 wanted: tuple[int, ...]) -> None:
        _remaining(smtp, deadline)
        code, reply = call()
        if code not in wanted:
            raise from_reply(code, reply, stage)


def _remaining(smtp: smtplib.SMTP, deadline: float) -> None:
    """The next reply may wait only for what is left of the whole send."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("the whole send's deadline passed")
    if smtp.sock is not None:
        smtp.sock.settimeout(left)


def _dot_stuffed(data: bytes) -> bytes:
    """RFC 5321 4.5.2: lines starting with a dot get another; CRLF line ends; then the final dot."""
    body = LEADING_DOT.sub(b"..", data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    return body + (b"" if body.endswith(b"\r\n") else b"\r\n") + b".\r\n"


def _goodbye(smtp: smtplib.SMTP) -> None:
    """QUIT, whatever it answers or however it fails: the outcome is already known."""
    try:
        if smtp.sock is not None:
            smtp.sock.settimeout(QUIT_WAIT_S)
            smtp.quit()
    except (OSError, smtplib.SMTPException):
        pass
    finally:
        smtp.close()
