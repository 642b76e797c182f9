"""The report's parts that need no server (DESIGN §14): explored offers stay out of both arms, the looks are capped
and end at the latest upload, and the pictures and words cope with what is missing."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from marketing_service.campaigns import report, report_charts
from marketing_service.storage.sqlite import SqliteStorage


def test_explored_offers_are_in_neither_arm_nor_in_the_split_check(tmp_path: Path) -> None:
    storage = SqliteStorage(tmp_path / "m.db", 5000)
    storage.init_db()
    conn = storage.connect()
    # (customerid, decision, churned, explored): E was offered by the explore share, F was not targeted.
    rows = [("A", "offer", 0, 0), ("B", "offer", 0, 0), ("C", "holdout", 1, 0), ("D", "holdout", 0, 0),
            ("E", "offer", 1, 1), ("F", "below_target", 1, 0)]
    with conn.transaction():
        conn.execute("INSERT INTO campaigns (id, name, status, settings, created_at, updated_at) VALUES"
                     " (1, 'c', 'done', ?, 'x', 'x')", (json.dumps({"holdout": 0.5}),))
        conn.executemany("INSERT INTO campaign_rows (campaign_id, line, customerid, name, email, features, scored,"
                         " churn_probability, decision, churned, explored) VALUES (1, 2, ?, '', '', '{}', 1, 0.5, ?, ?, ?)",
                         rows)
    built = report.build(conn, 1, {"mode": "threshold", "holdout": 0.5})
    conn.close()
    storage.close()
    assert built["assigned"] == {"offered": 2, "holdout": 2}
    assert (built["offered"]["customers"], built["holdout"]["customers"]) == (2, 2)
    assert built["difference"] == 0.5  # retained: offered 2 of 2, holdout 1 of 2
    assert built["srm"]["flagged"] is False and built["srm"]["observed_holdout_share"] == 0.5


def test_looks_are_capped_and_end_at_the_latest_upload() -> None:
    stamps = np.array([f"2026-01-01T00:{i // 60:02d}:{i % 60:02d}Z" for i in range(200)])
    y = np.tile([1.0, 0.0], 100)
    offered = np.tile([True, True, False, False], 50)
    looks = report.looks(y, offered, stamps)
    assert len(looks) == report.MAX_LOOKS and looks[-1]["recorded_at"] == stamps[-1]
    assert looks[-1]["offered"] + looks[-1]["holdout"] == 200 and looks[0]["difference"] is None  # one arm only


def test_the_pictures_and_numbers_cope_with_what_is_missing() -> None:
    assert report_charts.qini_chart(None) is None and report_charts.lift_chart([]) is None
    one_arm = {"recorded_at": "t", "offered": 3, "holdout": 0, "difference": None, "wald95": None, "sequence95": None}
    assert report_charts.lift_chart([one_arm]) is None
    both = {"recorded_at": "t2", "offered": 3, "holdout": 3, "difference": 0.0, "wald95": [0.0, 0.0],
            "sequence95": [0.0, 0.0]}
    chart = report_charts.lift_chart([one_arm, both])
    assert chart is not None and len(chart["marks"]) == 1  # a zero-width interval still gets a scale
    assert report_charts.points(None) == "—" and report_charts.points(-0.003) == "\N{MINUS SIGN}0.3"
    assert report_charts.points(-0.0001) == "0.0" and report_charts.points(0.041) == "4.1"
