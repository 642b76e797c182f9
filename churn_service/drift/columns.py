"""Drift bins for a batch the kernel already parsed: every feature's bins straight from its columns.

A categorical feature's bin follows from the kernel's code through one small table (code -> bin), a number's
from one `searchsorted` over its column, the same right-closed rule `FeatureBins` applies record by record.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from churn_service.drift.bins import DriftBins, FeatureBins
from churn_service.model.kernel import CODE_COLUMNS, NUMBER_COLUMNS, NUMBERS, ParsedBatch
from feature_contract import CATEGORICAL


@dataclass(frozen=True)
class ColumnBins:
    """How to bin one feature from a parsed batch: a code -> bin table, or edges over a number column."""
    codes_column: int | None  # the kernel's code column, for a categorical field
    number_column: int | None  # the kernel's number column, for a number
    table: np.ndarray | None  # code (or integer value) -> bin
    bins: FeatureBins

    def column(self, batch: ParsedBatch) -> np.ndarray:
        if self.codes_column is not None and self.table is not None:
            return self.table[batch.codes[:, self.codes_column]]
        values = batch.numbers[:, self.number_column]
        if self.table is not None:  # a binary field binned as categories: its values are 0 and 1
            return self.table[values.astype(np.intp)]
        return self.bins.column(values)


class DriftColumns:
    """One model's drift bins over the kernel's columns; `rows` is `DriftBins.rows` without the records."""

    def __init__(self, drift: DriftBins, plan: tuple[ColumnBins, ...]):
        self.drift, self.plan = drift, plan

    def rows(self, batch: ParsedBatch, probabilities: np.ndarray) -> np.ndarray:
        return np.column_stack([*(c.column(batch) for c in self.plan), self.drift.prediction.column(probabilities)])


def _plan(bins: FeatureBins) -> ColumnBins | None:
    if bins.name in CODE_COLUMNS:
        if bins.categories is None:
            return None
        table = np.array([bins.index(value) for value in CATEGORICAL[bins.name]], dtype=np.uint8)
        return ColumnBins(CODE_COLUMNS[bins.name], None, table, bins)
    if bins.name not in NUMBER_COLUMNS:
        return None
    low, high, integer = NUMBERS[bins.name]
    if bins.categories is None:
        return ColumnBins(None, NUMBER_COLUMNS[bins.name], None, bins)
    if not integer or (low, high) != (0, 1):
        return None
    return ColumnBins(None, NUMBER_COLUMNS[bins.name], np.array([bins.index(0), bins.index(1)], dtype=np.uint8), bins)


def build_drift_columns(drift: DriftBins | None) -> DriftColumns | None:
    """None when there is no drift to measure or a feature the kernel does not hold as a column."""
    if drift is None:
        return None
    plan = [_plan(bins) for bins in drift.features]
    usable = tuple(p for p in plan if p is not None)
    return DriftColumns(drift, usable) if len(usable) == len(plan) else None
