"""A fault-injecting SMTP server (aiosmtpd) for the Jepsen-style mail checker (DESIGN §12).

Each attempt (one connection, from its MAIL command on) draws its fate from a seeded RNG: accepted, DATA
taken then the connection dropped before the 250 (the ambiguous case), 421/450 at MAIL, RCPT or the end of
DATA, a connection dropped before DATA, a slow reply (within the client's timeout), a stall past it (then a
drop), or 250 to DATA then an error or a drop at QUIT. Some addresses, chosen by the seed, get 550 at RCPT
on every attempt: those offers must end `failed`/`bounced`, never arrive.

What the server took is recorded by Message-ID: `accepted` (answered 250) and, apart, `dropped` (DATA read,
no answer sent). A real provider may deliver either, so the checker counts both as received.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import re
import threading
import weakref
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.controller import Controller

from harness.servers import free_port

MESSAGE_ID = re.compile(rb"^Message-ID:[ \t]*(?:\r?\n[ \t]+)?(\S+)", re.IGNORECASE | re.MULTILINE)
FOREVER_S = 3600.0  # awaited after a drop: connection_lost cancels the handler long before


@dataclass(frozen=True)
class Faults:
    """Chances per attempt (the rest are accepted as they are), and the share of addresses refused for good."""

    drop_after_data: float = 0.04  # DATA taken, connection dropped before the 250: ambiguous
    temporary: float = 0.10  # 421 or 450 at MAIL, RCPT or the end of DATA (then nothing was taken)
    disconnect: float = 0.03  # the connection dropped at MAIL or RCPT, before any DATA
    slow: float = 0.05  # a reply `slow_s` late, within the client's deadline
    stall: float = 0.002  # a reply `stall_s` late, past the client's deadline, then a drop (at MAIL or end of DATA)
    quit_error: float = 0.05  # 250 to DATA, then QUIT answered 421 or the connection dropped: delivered
    hard_bounce: float = 0.01  # share of addresses answered 550 at RCPT on every attempt
    slow_s: float = 0.2
    stall_s: float = 11.0
    seed: int = 1

    def draws(self) -> list[tuple[str, float]]:
        return [("drop_after_data", self.drop_after_data), ("temporary", self.temporary),
                ("disconnect", self.disconnect), ("slow", self.slow), ("stall", self.stall),
                ("quit_error", self.quit_error)]


@dataclass(frozen=True)
class Plan:
    kind: str  # "accept" or one of Faults.draws()
    stage: str = ""  # MAIL, RCPT, DATA (the end of DATA) or QUIT
    code: int = 0  # the reply of a `temporary` or a `quit_error` (0 there: a drop)

    @property
    def name(self) -> str:
        """How the reports count it: drop_after_data, temporary_450_rcpt, slow_mail, quit_421, quit_drop..."""
        if self.kind == "quit_error":
            return f"quit_{self.code or 'drop'}"
        parts = (self.kind, str(self.code) if self.code else "", "" if self.kind == "drop_after_data" else self.stage)
        return "_".join(p.lower() for p in parts if p)


@dataclass(frozen=True)
class Received:
    message_id: str  # "" when the message had none
    recipient: str
    raw: bytes | None = None  # kept only with `keep_raw`


@dataclass
class Log:
    """What the server saw; read it with `FaultSmtp.log()`, a copy taken under the lock."""

    accepted: list[Received] = field(default_factory=list)
    dropped: list[Received] = field(default_factory=list)  # DATA taken, never answered
    faults: Counter[str] = field(default_factory=Counter)  # injected, by kind (and stage and code)
    attempts: int = 0  # MAIL commands
    bounced: set[str] = field(default_factory=set)  # addresses answered 550 at RCPT

    def received(self) -> list[str]:
        """Every copy's Message-ID, answered or not: what a provider might have delivered."""
        return [r.message_id for r in self.accepted + self.dropped]


class FaultHandler:
    """aiosmtpd's handler hooks, each acting out the attempt's plan at its stage."""

    def __init__(self, faults: Faults, keep_raw: bool = False):
        self.faults, self.keep_raw = faults, keep_raw
        self.rng = random.Random(faults.seed)  # drawn on the server's event loop only
        self.lock = threading.Lock()
        self.log = Log()
        self.plans: weakref.WeakKeyDictionary[Any, Plan] = weakref.WeakKeyDictionary()  # per session (connection)

    def refuses(self, address: str) -> bool:
        """The addresses that bounce, fixed by the seed: the same on every attempt and every run."""
        digest = hashlib.blake2b(f"{self.faults.seed}:{address.lower()}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") / 2**64 < self.faults.hard_bounce

    def draw(self) -> Plan:
        roll, stages = self.rng.random(), ("MAIL", "RCPT", "DATA")
        for kind, chance in self.faults.draws():
            if roll >= chance:
                roll -= chance
                continue
            if kind == "drop_after_data":
                return Plan(kind, "DATA")
            if kind == "temporary":
                return Plan(kind, self.rng.choice(stages), self.rng.choice((421, 450)))
            if kind == "disconnect":
                return Plan(kind, self.rng.choice(stages[:2]))
            if kind == "slow":
                return Plan(kind, self.rng.choice(stages))
            if kind == "stall":
                return Plan(kind, self.rng.choice(("MAIL", "DATA")))
            return Plan(kind, "QUIT", self.rng.choice((421, 0)))  # quit_error: 0 is a drop
        return Plan("accept")

    def count(self, plan: Plan) -> None:
        with self.lock:
            self.log.faults[plan.name] += 1

    async def act(self, server: Any, session: Any, stage: str) -> str | None:
        """The plan's effect at `stage`: None to go on, or the reply to give instead."""
        plan = self.plans.get(session)
        if plan is None or plan.stage != stage:
            return None
        self.count(plan)
        if plan.kind == "slow":
            await asyncio.sleep(self.faults.slow_s)
            return None
        if plan.kind == "stall":
            await asyncio.sleep(self.faults.stall_s)
        if plan.kind in ("stall", "disconnect", "drop_after_data") or (plan.kind == "quit_error" and plan.code == 0):
            await drop(server)
        if plan.code == 421:  # "service closing": said, then the connection closes
            await server.push("421 4.3.2 Service shutting down, try again later")
            server.transport.close()
            await asyncio.sleep(FOREVER_S)
        return f"{plan.code} 4.2.0 Try again later"

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str,  # noqa: N802 - aiosmtpd's name
                          options: list[str]) -> str:
        plan = self.draw()
        self.plans[session] = plan
        with self.lock:
            self.log.attempts += 1
        refused = await self.act(server, session, "MAIL")
        if refused:
            return refused
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,  # noqa: N802
                          options: list[str]) -> str:
        refused = await self.act(server, session, "RCPT")
        if refused:
            return refused
        if self.refuses(address):
            with self.lock:
                self.log.bounced.add(address.lower())
                self.log.faults["bounce_550_rcpt"] += 1
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        plan = self.plans.get(session, Plan("accept"))
        content: bytes = envelope.original_content or b""
        header = content.split(b"\r\n\r\n", 1)[0]
        found = MESSAGE_ID.search(header)
        message = Received(found.group(1).decode("ascii", "replace") if found else "", ",".join(envelope.rcpt_tos),
                           content if self.keep_raw else None)
        unanswered = plan.stage == "DATA" and plan.kind in ("drop_after_data", "stall")
        if unanswered:  # taken: whatever the client sees, a provider may deliver it
            with self.lock:
                self.log.dropped.append(message)
        refused = await self.act(server, session, "DATA")  # a drop or a stall never comes back
        if refused:
            return refused  # 4xx: the server did not take it
        with self.lock:
            self.log.accepted.append(message)
        return "250 OK"

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        return await self.act(server, session, "QUIT") or "221 Bye"


async def drop(server: Any) -> None:
    """Cut the connection without a word (RST); connection_lost then cancels the handler awaiting here."""
    if server.transport is not None:
        server.transport.abort()
    await asyncio.sleep(FOREVER_S)


class FaultSmtp:
    """The server on 127.0.0.1 and a free port, in a thread of this process; a context manager."""

    def __init__(self, faults: Faults | None = None, keep_raw: bool = False):
        self.faults = faults or Faults()
        self.handler = FaultHandler(self.faults, keep_raw)
        self.host, self.port = "127.0.0.1", free_port()
        self.controller = Controller(self.handler, hostname=self.host, port=self.port, enable_SMTPUTF8=True,
                                     ready_timeout=10)

    def start(self) -> FaultSmtp:
        logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd says a line per command at INFO
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def __enter__(self) -> FaultSmtp:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def log(self) -> Log:
        with self.handler.lock:
            current = self.handler.log
            return Log(list(current.accepted), list(current.dropped), Counter(current.faults), current.attempts,
                       set(current.bounced))
