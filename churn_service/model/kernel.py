"""Parse, check and score a batch of canonical records column by column, with no Python loop per record.

A `/predict/batch` of API clients' records spent most of its time looking every field up three times: to
check it (the feature contract), to score it and to bin it for drift. Here every categorical value becomes
its code (its position among the contract's spellings) in one C-level pass over the whole batch, so an
unknown spelling fails as it is met; the numbers are checked per column (their types as a set, their ranges
with numpy). The weights are then gathered by code and added column by column in the model's own order, so
every probability is the same float `CompiledLogistic.score_many` gives (IEEE addition is the same in numpy).
The codes and numbers also feed drift (`drift/columns.py`). A batch with anything unusual (another spelling, a
string for a number, a missing or extra key) returns None and takes the full path, which writes the errors.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain, cycle, repeat
from operator import itemgetter
from typing import Any

import numpy as np

from churn_service.model.scoring import CompiledLogistic
from feature_contract import BINARY, CATEGORICAL, FEATURES, NUMERIC, all_customer_ids

# Every number the contract accepts, with (minimum, maximum, integer only); the binary field takes 0 and 1.
NUMBERS: dict[str, tuple[float, float, bool]] = {**NUMERIC, **{field: (0, 1, True) for field in BINARY}}
NUMBER_TYPES: dict[bool, set[type]] = {True: {int}, False: {int, float}}  # bool is not int here: type(True) is bool
# Where each field sits in a parsed batch: its column of `codes` (categories) or of `numbers`.
CODE_COLUMNS = {field: j for j, field in enumerate(CATEGORICAL)}
NUMBER_COLUMNS = {field: j for j, field in enumerate(NUMBERS)}


@dataclass(frozen=True)
class ParsedBatch:
    """A checked batch as columns: what scoring and drift both read."""
    codes: np.ndarray  # (n, len(CATEGORICAL)) uint8: each value's position in CATEGORICAL[field]
    numbers: np.ndarray  # (n, len(NUMBERS)) float64, in NUMBERS' order
    ids: list[str | None]  # each record's customerid, None where it sent none


class BatchKernel:
    """Scores lists of canonical records for one compiled model."""

    def __init__(self, scorer: CompiledLogistic):
        self.bias = scorer.bias
        self.codes = tuple({value: code for code, value in enumerate(CATEGORICAL[f])} for f in CATEGORICAL)
        self.categorical_values = itemgetter(*CATEGORICAL)
        self.number_values = itemgetter(*NUMBERS)
        self.limits = tuple(NUMBERS.values())
        self.width = len(FEATURES)
        # A category the model never saw weighs 0, as DictVectorizer drops it; fields it never saw are not added.
        self.categorical_weights = tuple(
            (CODE_COLUMNS[field], np.array([weights.get(value, 0.0) for value in CATEGORICAL[field]]))
            for field, weights in scorer.categorical_items)
        self.number_weights = tuple((NUMBER_COLUMNS[field], weight) for field, weight in scorer.numeric_items)

    def parse(self, customers: Sequence[Any]) -> ParsedBatch | None:
        """The batch as columns, or None as soon as one record is not in canonical form."""
        n = len(customers)
        if set(map(type, customers)) != {dict}:
            return None
        has_id = np.fromiter(map(dict.__contains__, customers, repeat("customerid")), dtype=np.intp, count=n)
        if not np.all(np.fromiter(map(len, customers), dtype=np.intp, count=n) - has_id == self.width):
            return None
        try:
            # A missing key raises KeyError, an unhashable value TypeError, and an unknown spelling looks up
            # None, which bytes() refuses with TypeError.
            values = chain.from_iterable(map(self.categorical_values, customers))
            codes = bytes(map(dict.get, cycle(self.codes), values))  # type: ignore[arg-type]  # None -> TypeError
            flat = list(chain.from_iterable(map(self.number_values, customers)))
        except (KeyError, TypeError):
            return None
        step = len(self.limits)
        for j, (_, _, integer) in enumerate(self.limits):
            if not set(map(type, flat[j::step])) <= NUMBER_TYPES[integer]:
                return None
        try:
            numbers = np.array(flat, dtype=float).reshape(n, step)
        except OverflowError:  # an integer beyond any float; far out of range anyway
            return None
        for j, (low, high, _) in enumerate(self.limits):
            if not np.all((numbers[:, j] >= low) & (numbers[:, j] <= high)):  # NaN fails too
                return None
        ids = list(map(dict.get, customers, repeat("customerid")))
        if not all_customer_ids(ids):
            return None
        return ParsedBatch(np.frombuffer(codes, dtype=np.uint8).reshape(n, len(self.codes)), numbers, ids)

    def score(self, batch: ParsedBatch) -> np.ndarray:
        """b + Σw added in the scorer's order (each `+=` is the float addition its loop does), then the sigmoid."""
        z = np.full(len(batch.ids), self.bias)
        for column, weights in self.categorical_weights:
            z += weights[batch.codes[:, column]]
        for column, weight in self.number_weights:
            z += weight * batch.numbers[:, column]
        return 1.0 / (1.0 + np.exp(-np.clip(z, -700.0, 700.0)))


def build_kernel(scorer: Any) -> BatchKernel | None:
    return BatchKernel(scorer) if isinstance(scorer, CompiledLogistic) else None
