"""Retraining from production (DESIGN §13): labelled customers who got no offer, as the Telco CSV that
`python -m train --data FILE` reads, each with the record that was scored for the labelled decision and the
label's `observed_at` (so the promotion gate holds out the newest rows).

Only untreated decisions: an offer changes the outcome the model predicts. The features must be the ones that
were scored. A campaign row keeps its own record for good. A form/API decision stores none: the customer's
record is the one stored for it only while the customer has not been submitted again since (same stamp, no
later decision). Those re-submitted are left out, not filled in with a newer record, and counted in the log.
Read in pages by outcome id, each page its own short query, so a large database is never held in memory and
SQLite's readers never pin one snapshot for the whole download.
"""
from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

from feature_contract import CATEGORICAL
from marketing_service.storage import Connection

log = logging.getLogger(__name__)
PAGE = 1000
# The Telco file's own header (data/telco-customer-churn.csv): each column -> the contract's field.
TELCO_COLUMNS = {"gender": "gender", "SeniorCitizen": "seniorcitizen", "Partner": "partner",
                 "Dependents": "dependents", "tenure": "tenure", "PhoneService": "phoneservice",
                 "MultipleLines": "multiplelines", "InternetService": "internetservice",
                 "OnlineSecurity": "onlinesecurity", "OnlineBackup": "onlinebackup",
                 "DeviceProtection": "deviceprotection", "TechSupport": "techsupport", "StreamingTV": "streamingtv",
                 "StreamingMovies": "streamingmovies", "Contract": "contract", "PaperlessBilling": "paperlessbilling",
                 "PaymentMethod": "paymentmethod", "MonthlyCharges": "monthlycharges", "TotalCharges": "totalcharges"}
HEADER = ("customerID", *TELCO_COLUMNS, "Churn", "observed_at")

# One page of untreated labels with the record scored for each, or NULL features where none is kept.
_PAGE = """SELECT o.id, o.customerid, o.churned, o.observed_at,
                  CASE WHEN o.source = 'campaign' THEN r.features
                       WHEN c.status = 'scored' AND c.updated_at = d.decided_at AND NOT EXISTS (
                            SELECT 1 FROM decisions later WHERE later.customerid = d.customerid AND later.id > d.id)
                       THEN c.features END AS features
           FROM outcomes o
           LEFT JOIN campaign_rows r ON o.source = 'campaign' AND r.campaign_id = o.decision_ref
                                        AND r.customerid = o.customerid
           LEFT JOIN decisions d ON o.source = 'form' AND d.id = o.decision_ref
           LEFT JOIN customers c ON c.customerid = d.customerid
           WHERE o.treated = 0 AND o.id > ? ORDER BY o.id LIMIT ?"""


def telco_spelling(value: str) -> str:
    """A stored (normalised) category as the Telco file spells it: `fiber_optic` -> `Fiber optic`,
    `bank_transfer_(automatic)` -> `Bank transfer (automatic)`, `dsl` -> `DSL`; the contract reads it back."""
    return "DSL" if value == "dsl" else value.replace("_", " ").capitalize()


def _cell(field: str, value: Any) -> str:
    if field in CATEGORICAL:
        return telco_spelling(str(value))
    if isinstance(value, float):
        return repr(value)  # every digit stored, no exponent for the contract's ranges
    return str(value)


def telco_row(customerid: str, features: dict[str, Any], churned: int, observed_at: str) -> list[str]:
    return [customerid, *(_cell(field, features[field]) for field in TELCO_COLUMNS.values()),
            "Yes" if churned else "No", observed_at]


def labelled_untreated(conn: Connection, page: int = PAGE) -> Iterator[tuple[str, dict[str, Any] | None, int, str]]:
    """(customerid, scored features or None, churned, observed_at) of every untreated label, oldest label first."""
    after = 0
    while True:
        rows = conn.execute(_PAGE, (after, page)).fetchall()
        for row in rows:
            features = json.loads(row["features"]) if row["features"] is not None else None
            yield row["customerid"], features, int(row["churned"]), row["observed_at"]
        if len(rows) < page:
            return
        after = rows[-1]["id"]


def training_csv(conn: Connection, page: int = PAGE) -> Iterator[str]:
    """The CSV in chunks of about 64 KiB: the header, then one row per exportable label."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    written = left_out = 0
    for customerid, features, churned, observed_at in labelled_untreated(conn, page):
        if features is None:
            left_out += 1
            continue
        writer.writerow(telco_row(customerid, features, churned, observed_at))
        written += 1
        if buffer.tell() > 65536:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
    log.info("training.csv: %d labelled untreated customers exported, %d left out (form/API customers submitted"
             " again since the labelled decision: the record scored for it is no longer stored)", written, left_out)
