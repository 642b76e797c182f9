"""What each Spark partition runs (`mapInArrow`): Arrow record batches in, one outcome per row out.

A batch is checked column by column. Each distinct value of a column is parsed once by the feature contract
itself (`parse_record_in_full` on a valid record with that one field changed: fields are checked
independently), and plain numbers (an integer or a finite double column, a string column of plain decimals)
are range-checked with numpy by the contract's own limits. The rows every field vouches for are scored by
the model's column kernel (`model/kernel.py`), which gives the floats `/predict/batch` gives. Every other row
goes, whole, through the service's row path (`rows.py`), which either scores it after all or writes the
contract's own reason: the column path only makes valid rows faster, it never decides differently.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from churn_service.model.kernel import NUMBERS, BatchKernel, ParsedBatch, build_kernel
from churn_service.spark.rows import CORRUPT_COLUMN, REJECTED, SCORED, BroadcastModel, Outcome, score_rows
from feature_contract import CATEGORICAL, FEATURES, NUMERIC, InvalidRecord, churns, parse_record_in_full

VALID = {**{f: allowed[0] for f, allowed in CATEGORICAL.items()}, **{f: 0 for f in NUMBERS}}
PLAIN_DECIMAL = r"^\s*[0-9]{1,9}(\.[0-9]{1,17})?\s*$"  # what float() and Arrow's cast both read exactly
CACHE_LIMIT = 200_000  # distinct values remembered per worker; beyond that they are parsed again
_parsed: dict[tuple[str, type, Any], float | None] = {}


def as_json_gives(value: Any) -> Any:
    """A value as `to_json` + a JSON reader would hand it to the service: a decimal as an int or a float."""
    if isinstance(value, Decimal):
        return int(value) if value.as_tuple().exponent >= 0 else float(value)  # type: ignore[operator]
    return value


def pylist(column: pa.Array) -> list[Any]:
    if pa.types.is_float32(column.type):  # to_json spells a float32 by its own digits ("29.85", not 29.8500003…)
        return [None if v is None else float(str(np.float32(v))) for v in column.to_pylist()]
    return [as_json_gives(v) for v in column.to_pylist()] if pa.types.is_decimal(column.type) else column.to_pylist()


def rows_of(batch: pa.RecordBatch) -> list[dict[str, Any]]:
    """The rows as the row path reads them: each value as a JSON reader would hand it to the service."""
    names, columns = batch.schema.names, [pylist(column) for column in batch.columns]
    return [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]


def parse_value(field: str, value: Any) -> float | None:
    """The contract's reading of one field's value, as a number (a category's position among its spellings),
    or None when the contract refuses it."""
    key = (field, type(value), value)
    if key not in _parsed:
        try:
            parsed = parse_record_in_full({**VALID, field: value})[field]
        except InvalidRecord:
            parsed = None
        if len(_parsed) >= CACHE_LIMIT:
            _parsed.clear()
        _parsed[key] = CATEGORICAL[field].index(parsed) if field in CATEGORICAL and parsed is not None else parsed
    return _parsed[key]


def by_distinct(field: str, column: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    if pa.types.is_nested(column.type) or pa.types.is_null(column.type):  # lists, structs, all-null: row path
        return np.zeros(len(column), dtype=bool), np.full(len(column), np.nan)
    encoded = column.dictionary_encode(null_encoding="encode")
    values = np.array([parse_value(field, v) for v in pylist(encoded.dictionary)], dtype=float)
    indices = encoded.indices.to_numpy(zero_copy_only=False)
    return ~np.isnan(values[indices]), values[indices]


def is_text(kind: pa.DataType) -> bool:
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))


def read_field(field: str, column: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(which rows the contract accepts for this field, their parsed values as floats)."""
    kind = column.type
    if field in NUMERIC and is_text(kind):
        plain = pc.fill_null(pc.match_substring_regex(column, PLAIN_DECIMAL), False)
        text = pc.utf8_trim_whitespace(pc.if_else(plain, column, None))
        values = np.array(pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False))  # not plain: NaN
        ok = np.array(plain.to_numpy(zero_copy_only=False))
    elif field in NUMBERS and (pa.types.is_integer(kind) or pa.types.is_float64(kind)):
        values = np.array(pc.cast(column, pa.float64(), safe=False).to_numpy(zero_copy_only=False))  # null: NaN
        ok = np.isfinite(values)
    else:
        return by_distinct(field, column)
    low, high, integer = NUMBERS[field]
    with np.errstate(invalid="ignore"):
        ok &= (values >= low) & (values <= high) & (not integer or values == np.floor(values))
    if not ok.all():  # blanks, other spellings, errors: the contract reads each distinct one
        others = np.flatnonzero(~ok)
        ok[others], values[others] = by_distinct(field, column.take(others))
    return ok, values


def column_of(names: list[str], key: str) -> str | None:
    """The column `parse_record_in_full` reads for `key`: the exact lowercase name, else the last one that
    spells it in another case or with spaces."""
    return key if key in names else next((n for n in reversed(names) if n.strip().lower() == key), None)


def score_batch(batch: pa.RecordBatch, model: BroadcastModel, kernel: BatchKernel | None, from_csv: bool) -> pa.RecordBatch:
    names = [n for n in batch.schema.names if n != CORRUPT_COLUMN]
    columns = {n: pc.fill_null(c, "") if from_csv and is_text(c.type) else c for n, c in ((n, batch.column(n)) for n in names)}
    n = batch.num_rows
    ok = np.ones(n, dtype=bool) if CORRUPT_COLUMN not in batch.schema.names else \
        np.array(batch.column(CORRUPT_COLUMN).is_null().to_numpy(zero_copy_only=False))
    id_name = column_of(names, "customerid")
    if id_name is None or not is_text(columns[id_name].type):
        ok[:] = False
    else:
        length = pc.fill_null(pc.utf8_length(columns[id_name]), 0).to_numpy(zero_copy_only=False)
        ok &= (length >= 1) & (length <= 64)
    parsed = {}
    for field in FEATURES:
        name = column_of(names, field)
        if name is None:
            ok[:] = False
            break
        accepted, parsed[field] = read_field(field, columns[name])
        ok &= accepted
    scored = np.flatnonzero(ok)
    probabilities = score_columns(model, kernel, {f: v[scored] for f, v in parsed.items()}) if len(scored) else np.zeros(0)
    rest = list(score_rows(rows_of(batch.take(np.flatnonzero(~ok))), model, from_csv)) if len(scored) < n else []
    return outcome_batch(columns[id_name].take(scored) if len(scored) else pa.array([], pa.string()),
                         probabilities, model.threshold, rest)


def score_columns(model: BroadcastModel, kernel: BatchKernel | None, values: dict[str, np.ndarray]) -> np.ndarray:
    if kernel is not None:
        codes = np.stack([values[f] for f in CATEGORICAL], axis=1).astype(np.uint8)
        numbers = np.stack([values[f] for f in NUMBERS], axis=1)
        return kernel.score(ParsedBatch(codes, numbers, [None] * len(numbers)))
    records = [{f: CATEGORICAL[f][int(values[f][i])] if f in CATEGORICAL else
                (int(values[f][i]) if NUMBERS[f][2] else float(values[f][i])) for f in FEATURES}
               for i in range(len(values[FEATURES[0]]))]
    return np.asarray(model.scorer.score_many(records), dtype=float)


def outcome_batch(ids: pa.Array, probabilities: np.ndarray, threshold: float, rest: list[Outcome]) -> pa.RecordBatch:
    n = len(probabilities)
    status, customerid, probability, decision, reason, record = zip(*rest, strict=True) if rest else ([],) * 6
    return pa.RecordBatch.from_arrays([
        pa.array([SCORED] * n + list(status), pa.string()),
        pa.concat_arrays([ids.cast(pa.string()), pa.array(customerid, pa.string())]),
        pa.concat_arrays([pa.array(probabilities, pa.float64()), pa.array(probability, pa.float64())]),
        pa.concat_arrays([pa.array(churns(probabilities, threshold), pa.bool_()), pa.array(decision, pa.bool_())]),
        pa.concat_arrays([pa.nulls(n, pa.string()), pa.array(reason, pa.string())]),
        pa.concat_arrays([pa.nulls(n, pa.string()), pa.array(record, pa.string())]),
    ], names=["status", "customerid", "probability", "decision", "reason", "record"])


def score_partition(batches: Iterable[pa.RecordBatch], model: Any, from_csv: bool,
                    counters: tuple[Any, Any]) -> Iterator[pa.RecordBatch]:
    """`mapInArrow` entry point; `model` is the Broadcast of a BroadcastModel, `counters` two Spark accumulators
    (rows scored, rows rejected)."""
    broadcast: BroadcastModel = model.value
    kernel = build_kernel(broadcast.scorer)
    for batch in batches:
        outcomes = score_batch(batch, broadcast, kernel, from_csv)
        rejected = pc.sum(pc.equal(outcomes.column(0), REJECTED)).as_py() or 0
        counters[0].add(outcomes.num_rows - rejected)
        counters[1].add(rejected)
        yield outcomes


__all__ = ["REJECTED", "SCORED", "score_partition"]
