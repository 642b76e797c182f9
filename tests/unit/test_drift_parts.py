"""The pieces of drift monitoring a live service cannot show: the unseen-category bin (the contract refuses
unseen values with 422), the share floor, the status thresholds, and the shared window's newest-rows rule."""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest

from churn_service.drift.bins import DriftBins, FeatureBins, drift_bins, psi
from churn_service.drift.window import RingWriter, drop_version, read_window
from feature_contract.bins import bin_index, decile_bins


def test_an_unseen_category_lands_in_its_own_bin_whose_training_share_is_floored() -> None:
    contract = FeatureBins("contract", (0.5, 0.5, 0.0), categories={"month-to-month": 0, "two_year": 1}, unseen=2)
    assert [contract.index(v) for v in ("month-to-month", "two_year", "weekly")] == [0, 1, 2]
    half_unseen = psi([50, 0, 50], contract.expected)
    by_hand = (0.5 - 0.5) * 0 + (1e-4 - 0.5) * math.log(1e-4 / 0.5) + (0.5 - 1e-4) * math.log(0.5 / 1e-4)
    assert half_unseen == pytest.approx(by_hand, rel=1e-12) and half_unseen > 0.2


def test_numeric_bins_are_right_closed_with_open_outer_bins() -> None:
    edges = (1.0, 2.0, 3.0)
    assert [bin_index(edges, v) for v in (-5, 1.0, 1.5, 2.0, 3.0, 3.01, 1e9)] == [0, 0, 1, 1, 2, 3, 3]
    stats = decile_bins(list(range(100)))
    assert len(stats["deciles"]) == 9 and sum(stats["shares"]) == pytest.approx(1.0)
    assert stats["shares"] == pytest.approx([0.1] * 10, abs=0.011)


def test_status_is_the_worst_value_and_small_windows_are_insufficient() -> None:
    flat = (0.25, 0.25, 0.25, 0.25)
    bins = DriftBins((FeatureBins("a", flat, edges=(1, 2, 3)), FeatureBins("b", flat, edges=(1, 2, 3))),
                     FeatureBins("prediction", flat, edges=(0.2, 0.5, 0.8)))
    same = np.array([[i % 4, i % 4, i % 4] for i in range(400)], dtype=np.uint8)
    moved = same.copy()
    moved[:, 1] = 3  # every value of b in its top bin
    assert bins.report(same, min_records=400)["status"] == "ok"
    report = bins.report(moved, min_records=400)
    assert (report["status"], report["features"]["a"]["status"], report["features"]["b"]["status"]) == ("alert", "ok", "alert")
    assert bins.report(same[:399], min_records=400)["status"] == "insufficient_data"


def test_a_manifest_from_before_drift_has_no_bins() -> None:
    assert drift_bins({"version": "x", "feature_stats": {"tenure": {"mean": 1.0}}}) is None
    assert drift_bins({"version": "x"}) is None


def test_the_window_is_the_newest_rows_over_every_ring_of_the_version(tmp_path: Path) -> None:
    earlier = RingWriter(tmp_path, "v1", width=2, capacity=4)
    for slot in range(6):  # wraps: keeps rows 2..5
        earlier.add(slot, (slot, 0), slot / 10)
    earlier.path.rename(tmp_path / f"v1-{os.getpid() + 1}.ring")  # as if another worker wrote it
    RingWriter(tmp_path, "v1", width=2, capacity=4).add(0, (9, 1), 0.9)  # the newest row of all
    RingWriter(tmp_path, "v0", width=2, capacity=4).add(0, (7, 7), 0.7)
    rows, probabilities, since = read_window(tmp_path, "v1", width=2, capacity=4)
    assert sorted(rows[:, 0].tolist()) == [3, 4, 5, 9] and since is not None
    assert (probabilities * 10).round().tolist() == rows[:, 0].tolist(), "each probability stays with its row"
    drop_version(tmp_path, "v1")
    assert len(read_window(tmp_path, "v1", width=2, capacity=4)[0]) == 0
    assert len(read_window(tmp_path, "v0", width=2, capacity=4)[0]) == 1


def test_a_batch_is_binned_exactly_as_its_records_one_by_one() -> None:
    manifest = {"feature_stats": {"contract": {"frequencies": {"month-to-month": 0.5, "two_year": 0.5}},
                                  "seniorcitizen": {"frequencies": {"0": 0.8, "1": 0.2}},
                                  "tenure": {"deciles": [6.0, 29.0, 55.0], "shares": [0.25] * 4}},
                "prediction_stats": {"deciles": [0.1, 0.3, 0.6], "shares": [0.25] * 4}}
    bins = drift_bins(manifest)
    assert bins is not None
    records = [{"contract": c, "seniorcitizen": s, "tenure": t} for c, s, t in
               [("month-to-month", 0, 0), ("two_year", 1, 6), ("one_year", 0, 6.5), ("two_year", 1, 29), ("x", 0, 72)]]
    probabilities = [0.05, 0.1, 0.3, 0.31, 0.99]
    one_by_one = np.array([bins.row(r, p) for r, p in zip(records, probabilities, strict=True)], dtype=np.uint8)
    assert bins.rows(records, probabilities).tolist() == one_by_one.tolist()
    assert one_by_one[:, 0].tolist() == [0, 1, 2, 1, 2] and one_by_one[:, 2].tolist() == [0, 0, 1, 1, 3]
    assert one_by_one[:, 1].tolist() == [0, 1, 0, 1, 0], "binary features arrive as numbers, stats name them as text"
    assert one_by_one[:, 3].tolist() == [0, 0, 1, 2, 3]


def test_a_batch_wraps_around_the_ring_and_keeps_its_newest_rows(tmp_path: Path) -> None:
    ring = RingWriter(tmp_path, "v2", width=1, capacity=4)
    ring.add_many(2, np.array([[1], [2], [3]], dtype=np.uint8), np.array([0.01, 0.02, 0.03]))  # slots 2, 3, then 0
    assert sorted(read_window(tmp_path, "v2", width=1, capacity=4)[0][:, 0].tolist()) == [1, 2, 3]
    ring.add_many(5, np.arange(10, 19, dtype=np.uint8).reshape(-1, 1), np.arange(10, 19) / 100)  # 9 rows, 4 slots
    window = read_window(tmp_path, "v2", width=1, capacity=4)
    assert sorted(window.bins[:, 0].tolist()) == [15, 16, 17, 18]
    assert (window.probabilities * 100).round().tolist() == window.bins[:, 0].tolist()
    ring.close()
