"""The run the mail checker judges (DESIGN §12), shared by tests/integration/test_mail_jepsen.py and
`python -m bench mail`: offers written in batches through `/api/customers`, marketing workers killed with
SIGKILL at random moments while they send (gunicorn starts new ones), and the wait until nothing is left to
send. harness/fault_smtp.py is the server they send to; harness/mail_ledger.py checks the outcome.
"""
from __future__ import annotations

import logging
import os
import random
import re
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import requests
from prometheus_client.parser import text_string_to_metric_families

from harness.fault_smtp import FaultSmtp
from harness.mail_ledger import fetch
from harness.servers import Gunicorn, worker_pids
from marketing_service.mail.outbox import FINAL
from marketing_service.mail.smtp import SmtpMailer

log = logging.getLogger(__name__)
READY_LINE = re.compile(r"\[INFO\] worker (\d+) ready$", re.MULTILINE)
MAX_ATTEMPTS = 30  # high enough that the injected faults never use up an offer's attempts
SEND_DEADLINE_S = SmtpMailer("127.0.0.1", 25).timeout_s  # the mailer's whole-send deadline; a stall outlasts it
# A claim is only sent while the lease covers a whole send: the lease must exceed that deadline. Short beyond it,
# so an offer a killed worker held comes back soon.
LEASE_S = SEND_DEADLINE_S + 2
PROGRESS_EVERY_S = 10.0
AMBIGUOUS_METRIC = "marketing_mail_ambiguous"  # the counter `marketing_mail_ambiguous_total`, as the parser names it


def marketing_env(smtp: FaultSmtp, lease_s: float = LEASE_S, max_attempts: int = MAX_ATTEMPTS) -> dict[str, str]:
    """Marketing sending to the fault server, with timings short enough for a run of a minute."""
    return {"MAILER": "smtp", "SMTP_HOST": smtp.host, "SMTP_PORT": str(smtp.port),
            "MAIL_FROM": "Retention <offers@retention.example>", "MAIL_BACKOFF_SECONDS": "0.05",
            "MAIL_MAX_ATTEMPTS": str(max_attempts), "LEASE_SECONDS": str(lease_s), "POLL_INTERVAL": "0.05",
            "BACKGROUND": "1", "CHURN_READ_TIMEOUT": "10"}


def post_customers(url: str, http: requests.Session, template: dict[str, Any], count: int, prefix: str,
                   batch: int = 500) -> None:
    """`count` customers like `template` (a likely churner: one offer each), `batch` per request. A request cut
    by a killed worker is sent again: the same customer ids, so nothing is written twice."""
    for start in range(0, count, batch):
        body = {"customers": [dict(template, customerid=f"{prefix}-{i:06d}", email=f"{prefix.lower()}-{i}@example.com",
                                   name=f"Customer {i}") for i in range(start, min(count, start + batch))]}
        for attempt in range(1, 11):
            try:
                answer = http.post(f"{url}/api/customers", json=body, timeout=120)
                if answer.status_code in (200, 202):
                    break
                reason = f"{answer.status_code} {answer.text[:200]}"
            except requests.RequestException as exc:
                reason = f"{type(exc).__name__}: {exc}"
            log.info("batch at %d, attempt %d: %s; sending it again", start, attempt, reason)
            time.sleep(0.2)
        else:
            raise RuntimeError(f"the batch of customers from {start} was refused 10 times: {reason}")


class WorkerKiller:
    """SIGKILLs a random ready worker of `server` after a random pause (`pause_s`, a range) each time, until
    stopped or `limit` kills; gunicorn's master starts a new worker each time."""

    def __init__(self, server: Gunicorn, pause_s: tuple[float, float] = (0.5, 2.0), limit: int = 1_000,
                 seed: int = 1):
        self.server, self.pause_s, self.limit = server, pause_s, limit
        self.rng = random.Random(seed)
        self.killed: list[int] = []
        self._ready: set[int] = set()
        self._log_read = 0  # how far the server's log was read for `ready` lines
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="worker-killer", daemon=True)

    def start(self) -> WorkerKiller:
        self._thread.start()
        return self

    def stop(self) -> int:
        """Stops; returns how many workers were killed."""
        self._stop.set()
        self._thread.join(timeout=10)
        return len(self.killed)

    def ready(self) -> set[int]:
        """Workers that said `ready` so far, the log read on from where it was left (it grows long)."""
        with open(self.server.log.name, "rb") as output:
            output.seek(self._log_read)
            text = output.read()
        complete = text[:text.rfind(b"\n") + 1]  # a line still being written is read whole next time
        self._log_read += len(complete)
        self._ready |= {int(pid) for pid in READY_LINE.findall(complete.decode(errors="replace"))}
        return self._ready

    def _run(self) -> None:
        assert self.server.proc is not None
        while len(self.killed) < self.limit and not self._stop.wait(self.rng.uniform(*self.pause_s)):
            # Only a worker that loaded the app (its `ready` line): one still booting sends nothing yet.
            victims = sorted(self.ready() & set(worker_pids(self.server.proc.pid)) - set(self.killed))
            if not victims:
                continue
            victim = self.rng.choice(victims)
            try:
                os.kill(victim, signal.SIGKILL)
            except ProcessLookupError:
                continue
            self.killed.append(victim)
            log.info("killed worker %d (%d so far)", victim, len(self.killed))


def outstanding(db: str, max_attempts: int = MAX_ATTEMPTS) -> tuple[int, int]:
    """(customers not yet scored, offers that may still be sent): queued, or failed with attempts left and a
    retry due (one failed for good has FINAL as its next attempt). Both 0 is quiescence."""
    pending = fetch(db, "SELECT COUNT(*) FROM customers WHERE status = 'pending'")[0][0]
    unsent = fetch(db, "SELECT COUNT(*) FROM offers WHERE status = 'queued' OR (status = 'failed' AND attempts < "
                       f"{int(max_attempts)} AND next_attempt_at < {FINAL / 2!r})")[0][0]  # below FINAL, however rounded
    return pending, unsent


def wait_quiescent(db: str, timeout: float, max_attempts: int = MAX_ATTEMPTS,
                   progress: Callable[[int, int], None] | None = None) -> float:
    """Polls until nothing is pending or left to send; returns the seconds waited."""
    started = reported = time.monotonic()
    last = (-1, -1)
    while time.monotonic() - started < timeout:
        last = outstanding(db, max_attempts)
        if last == (0, 0):
            return time.monotonic() - started
        if progress is not None and time.monotonic() - reported >= PROGRESS_EVERY_S:
            progress(*last)
            reported = time.monotonic()
        time.sleep(0.25)
    raise TimeoutError(f"not quiescent after {timeout:.0f}s: {last[0]} customers pending, {last[1]} offers unsent")


def metric(url: str, name: str = AMBIGUOUS_METRIC) -> float | None:
    """A counter's value on `/metrics` (every worker's, merged by the multiprocess collector); None if absent."""
    text = requests.get(f"{url}/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        if family.name == name:
            return sum(s.value for s in family.samples if s.name == f"{name}_total")
    return None
