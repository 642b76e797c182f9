"""The row-at-a-time path of a Spark partition: every row the column path (`columns.py`) cannot vouch for.

Kept free of pyspark so it can be read and tested without a JVM. A row here is validated and scored by
exactly the code behind `/predict/batch` (`parse_record`, then `Scorer.score_many`), so a rejected row gets
the service's own reason, and a row this path scores after all gets the service's own probability.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from churn_service.model.scoring import Scorer
from feature_contract import InvalidRecord, churns, parse_record

SCORED, REJECTED = "scored", "rejected"
CORRUPT_COLUMN = "_corrupt_record"  # Spark fills it (CSV, PERMISSIVE mode) for a line with the wrong field count


@dataclass(frozen=True)
class BroadcastModel:
    """What the executors receive: the compiled scorer of a model the driver verified, not the pickle."""
    version: str
    threshold: float
    scorer: Scorer


# One output row per input row: (status, customerid, probability, decision, reason, record).
Outcome = tuple[str, str | None, float | None, bool | None, str | None, str | None]


def plain(value: Any, from_csv: bool) -> Any:
    """CSV: Spark reads an empty field as null, where the service's CSV readers see "" (a blank totalcharges
    is 0 there), so null is read back as ""."""
    return "" if value is None and from_csv else value


def _reject(raw: Mapping[str, Any], reason: str, record: str) -> Outcome:
    customer_id = next((v for k, v in raw.items() if str(k).strip().lower() == "customerid"), None)
    return (REJECTED, None if customer_id is None else str(customer_id)[:64], None, None, reason, record)


def _parse(raw: dict[str, Any]) -> dict[str, Any] | str:
    """The parsed record, or the reason it is rejected."""
    try:
        record = parse_record(raw)
    except InvalidRecord as exc:
        return str(exc)
    if "customerid" not in record:
        return "customerid: is required (the output is keyed by it)"
    return record


def score_rows(rows: list[dict[str, Any]], model: BroadcastModel, from_csv: bool) -> Iterator[Outcome]:
    """Each row (as the table holds it, `CORRUPT_COLUMN` included) scored or rejected with its reason and
    the row as read, to fix and resubmit."""
    pending: list[dict[str, Any]] = []
    for row in rows:
        corrupt = row.pop(CORRUPT_COLUMN, None)
        raw = {key: plain(value, from_csv) for key, value in row.items()} if from_csv else row
        if corrupt is not None:
            yield _reject(raw, "malformed CSV line: its number of fields differs from the header's", corrupt)
            continue
        parsed = _parse(raw)
        if isinstance(parsed, str):
            yield _reject(raw, parsed, orjson.dumps(row, default=str).decode())
        else:
            pending.append(parsed)
    for record, probability in zip(pending, model.scorer.score_many(pending) if pending else [], strict=True):
        yield (SCORED, record["customerid"], probability, churns(probability, model.threshold), None, None)
