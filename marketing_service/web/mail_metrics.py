"""Delivery's counters for Prometheus (DESIGN §12), read from the outbox at scrape time: the database holds
them durably and for every worker and instance at once, so no process keeps a count of its own that a
restart would lose."""
from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from marketing_service.storage import Connection


class MailCollector:
    def __init__(self, connect: Callable[[], Connection]):
        self.connect = connect

    def describe(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        yield CounterMetricFamily("marketing_mail_ambiguous", "")
        yield GaugeMetricFamily("marketing_mail_offers", "", labels=["delivery_status"])

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        conn = self.connect()
        try:
            ambiguous = conn.execute("SELECT COALESCE(SUM(ambiguous), 0) FROM offers").fetchone()[0]
            by_status = conn.execute("SELECT COALESCE(delivery_status, 'not_sent'), COUNT(*) FROM offers GROUP BY 1").fetchall()
        finally:
            conn.close()
        yield CounterMetricFamily("marketing_mail_ambiguous", "sends that may have gone out twice: the reply to the"
                                  " end of DATA was lost, or a worker died mid-send", value=float(ambiguous))
        offers = GaugeMetricFamily("marketing_mail_offers", "offers by delivery status", labels=["delivery_status"])
        for status, n in by_status:
            offers.add_metric([status], float(n))
        yield offers
