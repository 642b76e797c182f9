"""How a send can fail (DESIGN §12), as the mailers report it and delivery acts on it."""
from __future__ import annotations

PERMANENT_RCPT = frozenset({550, 551, 553})  # the recipient does not exist or is refused for good: a hard bounce


class SendFailure(Exception):
    """Not (surely) accepted. `permanent`: do not try again (a 5xx). `bounced`: the address is dead (550/551/553
    for the recipient), so it is suppressed. `ambiguous`: the final dot went out and no reply came back, so the
    server may hold the message: it is retried (same Message-ID) and counted."""

    def __init__(self, message: str, *, permanent: bool = False, bounced: bool = False, ambiguous: bool = False):
        super().__init__(message)
        self.permanent, self.bounced, self.ambiguous = permanent, bounced, ambiguous


def from_reply(code: int, reply: bytes | str, stage: str) -> SendFailure:
    """A reply other than the one wanted at `stage`: 5xx is final, anything else (4xx, odd codes) is retried."""
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    message = f"{stage}: {code} {text}".strip()[:400]
    if 500 <= code < 600:
        return SendFailure(message, permanent=True, bounced=stage == "RCPT TO" and code in PERMANENT_RCPT)
    return SendFailure(message)
