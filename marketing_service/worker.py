"""Background loop in each worker process: scores pending records and delivers queued offers.

Safe with several gunicorn workers because every record and offer is leased with an atomic UPDATE
before it is touched; a lease left by a killed process simply expires and another worker takes over.
"""
from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable

from marketing_service import store
from marketing_service.churn_client import ChurnClient
from marketing_service.intake import rescore_pending
from marketing_service.mailer import Mailer, build_message

log = logging.getLogger(__name__)
BATCH = 200


class BackgroundWorker:
    def __init__(self, connect: Callable[[], sqlite3.Connection], client: ChurnClient, mailer: Mailer,
                 campaign: str, mail_from: str, interval: float, lease_s: float):
        self.connect, self.client, self.mailer = connect, client, mailer
        self.campaign, self.mail_from, self.interval, self.lease_s = campaign, mail_from, interval, lease_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="marketing-background", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)

    def kick(self) -> None:
        """Deliver now rather than at the next tick (a request just queued an offer)."""
        self._wake.set()

    def _run(self) -> None:
        conn = self.connect()
        try:
            while not self._stop.is_set():
                try:
                    self.run_once(conn)
                except sqlite3.Error:
                    log.exception("background pass failed; retrying next tick")
                self._wake.wait(self.interval)
                self._wake.clear()
        finally:
            conn.close()

    def run_once(self, conn: sqlite3.Connection) -> None:
        rescore_pending(conn, self.client, self.campaign, BATCH, self.lease_s)
        self.deliver_due(conn)

    def deliver_due(self, conn: sqlite3.Connection) -> int:
        sent = 0
        for offer in store.claim_due_offers(conn, BATCH, self.lease_s):
            try:
                self.mailer.send(build_message(offer, self.mail_from), offer["id"])
            except (OSError, ValueError) as exc:  # smtplib errors are OSErrors; bad headers ValueErrors
                log.warning("offer %s delivery failed (attempt %s): %s", offer["id"], offer["attempts"], exc)
                store.mark_failed(conn, offer["id"], offer["attempts"], f"{type(exc).__name__}: {exc}")
                continue
            store.mark_sent(conn, offer["id"])
            sent += 1
            log.info("offer %s sent to customer %s", offer["id"], offer["customerid"])
        return sent
