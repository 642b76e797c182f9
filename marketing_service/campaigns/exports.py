"""The campaign's CSV downloads, streamed row by row. Text a spreadsheet would run as a formula (a cell
starting with =, +, -, @, tab or carriage return) is prefixed with ' so it shows as text (OWASP's advice)."""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from marketing_service.customers.reasons import reason_phrases
from marketing_service.storage import Connection

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
RESULT_COLUMNS = ("customerid", "churn_probability", "expected_value", "decision", "offer_id", "model_version", "reasons",
                  "prediction_id", "propensity")
REJECT_COLUMNS = ("line", "customerid", "field", "message")


def safe(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _lines(header: tuple[str, ...], rows: Iterator[tuple]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe(v) for v in row])
        if buffer.tell() > 65536:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def results_csv(conn: Connection, campaign_id: int) -> Iterator[str]:
    rows = conn.execute(
        """SELECT customerid, churn_probability, expected_value, decision, offer_id, model_version, reasons,
                  prediction_id, propensity FROM campaign_rows WHERE campaign_id = ? ORDER BY line""", (campaign_id,))
    return _lines(RESULT_COLUMNS, ((r[0], r[1], None if r[2] is None else round(r[2], 2), r[3], r[4], r[5],
                                    "; ".join(reason_phrases(json.loads(r[6] or "[]"))), r[7], r[8]) for r in rows))


def rejects_csv(conn: Connection, campaign_id: int) -> Iterator[str]:
    rows = conn.execute("SELECT line, customerid, field, message FROM campaign_rejects WHERE campaign_id = ? ORDER BY line",
                        (campaign_id,))
    return _lines(REJECT_COLUMNS, (tuple(r) for r in rows))
