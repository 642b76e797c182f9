"""The column kernel behind canonical `/predict/batch`: it takes every canonical batch, scores each record to
the same float the per-record scorer gives, bins it for drift as the per-record binning does, and turns away
any batch it cannot read exactly (the full path then answers, see test_fast_paths)."""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from churn_service.serving import Serving, load_serving
from feature_contract import parse_record
from harness import DATA


@pytest.fixture(scope="module")
def serving(model_dir: Path) -> Serving:
    return load_serving(model_dir / "model.bin")


@pytest.fixture(scope="module")
def records() -> list[dict[str, Any]]:
    with open(DATA, newline="") as f:
        return [parse_record(row) for row in csv.DictReader(f)]


@pytest.mark.parametrize("with_ids", ["all", "none", "some"])
def test_every_record_scores_and_bins_as_the_per_record_path(serving: Serving, records: list[dict[str, Any]],
                                                           with_ids: str) -> None:
    if with_ids != "all":
        records = [{k: v for k, v in r.items() if k != "customerid" or (with_ids == "some" and i % 3)}
                   for i, r in enumerate(records)]
    assert serving.kernel is not None and serving.drift is not None and serving.drift_columns is not None
    batch = serving.kernel.parse(records)
    assert batch is not None, "a canonical batch must take the kernel"
    assert batch.ids == [r.get("customerid") for r in records]
    probabilities = serving.kernel.score(batch)
    assert probabilities.tolist() == serving.scorer.score_many(records)  # the same floats, bit for bit
    assert np.array_equal(serving.drift_columns.rows(batch, probabilities),
                          serving.drift.rows(records, probabilities.tolist()))


@pytest.mark.parametrize("change", [
    {"tenure": "12"}, {"tenure": 12.5}, {"tenure": 1201}, {"tenure": 10**400}, {"contract": "One year"},
    {"seniorcitizen": True}, {"seniorcitizen": 2}, {"gender": ["male"]}, {"monthlycharges": float("nan")},
    {"totalcharges": -0.5}, {"customerid": ""}, {"customerid": 7}, {"customerid": "x" * 65}, {"extra": 1},
])
def test_a_batch_with_one_record_it_cannot_read_is_turned_away(serving: Serving, records: list[dict[str, Any]],
                                                                change: dict[str, Any]) -> None:
    batch = [dict(r) for r in records[:50]]
    batch[17] = {**batch[17], **change}
    assert serving.kernel.parse(batch) is None


@pytest.mark.parametrize("odd", [["not a record"], [None], [{}]])
def test_a_batch_of_non_records_is_turned_away(serving: Serving, records: list[dict[str, Any]], odd: list[Any]) -> None:
    assert serving.kernel.parse(records[:3] + odd) is None


def test_a_missing_field_turns_the_batch_away(serving: Serving, records: list[dict[str, Any]]) -> None:
    batch = [dict(r) for r in records[:5]]
    del batch[2]["contract"]
    batch[2]["other"] = "month-to-month"  # the same number of keys, one of them wrong
    assert serving.kernel.parse(batch) is None
