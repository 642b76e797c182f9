"""The background loop, a thread in each gunicorn worker process: scores pending records, delivers queued
offers, works campaigns and copies churn's shadow records.

Safe with several workers because every record and email is leased under a token before it is touched;
a lease left by a killed process simply expires and another worker takes over. The loop outlives any
failure of a pass (it logs it and tries again next tick); `/readyz` reports it if the thread is gone.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from marketing_service.campaigns.processing import work_once
from marketing_service.churn_client import ChurnClient
from marketing_service.customers.intake import rescore_pending
from marketing_service.mail.delivery import DeliveryPolicy, deliver_due
from marketing_service.mail.links import Links
from marketing_service.mail.mailers import Mailer
from marketing_service.offers.guardrails import pause_unhealthy
from marketing_service.offers.rules import OfferRules
from marketing_service.shadow.pull import ShadowPuller
from marketing_service.storage import Connection

log = logging.getLogger(__name__)
RESCORE_BATCH = 200
# A busy pass is followed by the next one at once only when it took this long: each pass claims and marks
# in write transactions of its own, and under a stream of submissions (each kicking the loop) back-to-back
# passes of one or two offers each took the write lock (and an fsync) from the submissions' commits every
# few offers. Offers arriving meanwhile wait at most this long, and are claimed and marked a batch at a time.
PASS_GAP_S = 0.05


class BackgroundLoop:
    def __init__(self, connect: Callable[[], Connection], client: ChurnClient, mailer: Mailer,
                 rules: OfferRules, delivery: DeliveryPolicy, interval: float, lease_s: float, links: Links,
                 shadow_poll_s: float = 0.0):
        self.rules = rules
        self.shadow = ShadowPuller(client.read, shadow_poll_s)
        self.connect, self.client, self.mailer, self.links = connect, client, mailer, links
        self.delivery, self.interval, self.lease_s = delivery, interval, lease_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="marketing-background", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def kick(self) -> None:
        """Deliver now rather than at the next tick (a request just queued an offer)."""
        self._wake.set()

    @property
    def status(self) -> str:
        """`running`, `off` (never started: BACKGROUND=0) or `dead` (the thread ended without being stopped)."""
        if self._thread.is_alive():
            return "running"
        return "off" if self._thread.ident is None or self._stop.is_set() else "dead"

    def _run(self) -> None:
        conn = self.connect()
        try:
            while not self._stop.is_set():
                busy, started = False, time.monotonic()
                try:
                    busy = self.run_once(conn)
                except Exception:  # any failure of one pass (a database error, a bug): log, try next tick
                    log.exception("background pass failed; retrying next tick")
                if busy:  # work done means more may be due: go on soon (see PASS_GAP_S), else wait for the tick
                    self._stop.wait(started + PASS_GAP_S - time.monotonic())
                else:
                    self._wake.wait(self.interval)
                    self._wake.clear()
        finally:
            conn.close()

    def run_once(self, conn: Connection) -> bool:
        """One pass; True when it did something, so more may be waiting (the loop then goes on at once)."""
        rescored = rescore_pending(conn, self.client, self.rules, RESCORE_BATCH, self.lease_s)
        delivered = deliver_due(conn, self.mailer, self.delivery, self.lease_s, self.links)
        pause_unhealthy(conn)  # DESIGN §12: a campaign over the bounce or complaint line stops here
        campaign_step = work_once(conn, self.client, self.lease_s, self.rules)
        shadowed = self.shadow.pull(conn)  # DESIGN §13: the challenger's probabilities, for the Model page
        return bool(rescored or delivered or campaign_step or shadowed)
