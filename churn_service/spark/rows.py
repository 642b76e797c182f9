"""What each Spark partition runs: table rows through the feature contract and the service's own scorer.

Kept free of pyspark so it can be read and tested without a JVM, and so a row is validated and scored by
exactly the code behind `/predict/batch` (`parse_record`, then `Scorer.score_many`): that, not a second
implementation in Spark SQL, is why the job's probabilities equal the service's.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from churn_service.model.scoring import Scorer
from feature_contract import InvalidRecord, churns, parse_record

SCORED, REJECTED = "scored", "rejected"
CORRUPT_COLUMN = "_corrupt_record"  # Spark fills it (CSV, PERMISSIVE mode) for a line with the wrong field count
CHUNK = 1000  # records per score_many call: the size at which the service's batch path was measured


@dataclass(frozen=True)
class BroadcastModel:
    """What the executors receive: the compiled scorer of a model the driver verified, not the pickle."""
    version: str
    threshold: float
    scorer: Scorer


# One output row per input row: (status, customerid, probability, decision, reason, record).
Outcome = tuple[str, str | None, float | None, bool | None, str | None, str | None]


def _plain(value: Any, from_csv: bool) -> Any:
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


def _scored(model: BroadcastModel, records: list[dict[str, Any]]) -> Iterator[Outcome]:
    threshold = model.threshold
    for record, probability in zip(records, model.scorer.score_many(records), strict=True):
        yield (SCORED, record["customerid"], probability, churns(probability, threshold), None, None)


def score_lines(lines: Iterable[str], model: BroadcastModel, from_csv: bool) -> Iterator[Outcome]:
    """Every row, one JSON object per line, comes out once: scored (in chunks, as `/predict/batch` scores)
    or rejected with its reason and the row as read."""
    pending: list[dict[str, Any]] = []
    for line in lines:
        try:
            row = orjson.loads(line)
        except orjson.JSONDecodeError as exc:  # e.g. a decimal beyond a double's range
            yield (REJECTED, None, None, None, f"unreadable row: {exc}", line)
            continue
        corrupt = row.pop(CORRUPT_COLUMN, None)
        raw = {key: _plain(value, from_csv) for key, value in row.items()} if from_csv else row
        if corrupt is not None:
            yield _reject(raw, "malformed CSV line: its number of fields differs from the header's", corrupt)
            continue
        parsed = _parse(raw)
        if isinstance(parsed, str):
            yield _reject(raw, parsed, line)
            continue
        pending.append(parsed)
        if len(pending) == CHUNK:
            yield from _scored(model, pending)
            pending = []
    if pending:
        yield from _scored(model, pending)


def score_partition(rows: Iterable[Any], model: Any, from_csv: bool) -> Iterator[Outcome]:
    """`mapPartitions` entry point: one-column Rows holding each table row as JSON (Spark's `to_json`, which
    keeps every type JSON has and costs far less than building a Row object per customer), outcomes out;
    `model` is the Broadcast of a BroadcastModel."""
    return score_lines((line for (line,) in rows), model.value, from_csv)
