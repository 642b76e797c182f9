"""`python -m bench campaign-report [--rows N]`: the experiment report's assembly (DESIGN §14) at its worst case, in
process: N targeted customers (default 100,000), every one of them in an arm (half offered, half held out) and
labelled, over three looks, written straight into a fresh SQLite database; then `report.build` (the one query,
the arrays, every statistic and the Qini curve) is timed. `python -m bench.campaign` times the same report over
HTTP after a real campaign, whose budget keeps its arms smaller.
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import REPO
from marketing_service.campaigns import report
from marketing_service.storage import now_iso
from marketing_service.storage.sqlite import SqliteStorage

RESULTS = REPO / "bench" / "results"
LOOKS = ("2026-01-01T00:00:00Z", "2026-01-08T00:00:00Z", "2026-01-15T00:00:00Z")


def fill(storage: SqliteStorage, rows: int, seed: int = 14) -> tuple[int, dict[str, Any]]:
    """A done campaign of `rows` targeted customers with outcomes: churn with probability p held out, 0.8 p offered."""
    rng, settings, stamp = random.Random(seed), {"mode": "threshold", "holdout": 0.5}, now_iso()
    conn = storage.connect()
    try:
        with conn.transaction():
            campaign_id = int(conn.execute(
                "INSERT INTO campaigns (name, status, settings, created_at, updated_at, finished_at)"
                " VALUES ('bench', 'done', ?, ?, ?, ?) RETURNING id", (json.dumps(settings), stamp, stamp, stamp)).fetchone()[0])
            decided, labelled = [], []
            for i in range(rows):
                p, offered = rng.random(), rng.random() < 0.5
                churned = int(rng.random() < p * (0.8 if offered else 1.0))
                customerid = f"B{i:07d}"
                decided.append((campaign_id, i + 2, customerid, "", "", "{}", p, p * 100, "bench",
                                "offer" if offered else "holdout", churned, 0.5))
                labelled.append((campaign_id, customerid, churned, LOOKS[i % 3], p, int(offered), LOOKS[i % 3]))
            conn.executemany("INSERT INTO campaign_rows (campaign_id, line, customerid, name, email, features, scored,"
                             " churn_probability, expected_value, model_version, decision, churned, propensity)"
                             " VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?)", decided)
            conn.executemany("INSERT INTO outcomes (source, decision_ref, customerid, churned, observed_at,"
                             " churn_probability, model_version, propensity, treated, recorded_at)"
                             " VALUES ('campaign', ?, ?, ?, ?, ?, 'bench', 0.5, ?, ?)", labelled)
    finally:
        conn.close()
    return campaign_id, settings


def run(rows: int, repeats: int = 5) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        storage = SqliteStorage(Path(tmp) / "report.db", 5000)
        storage.init_db()
        campaign_id, settings = fill(storage, rows)
        conn = storage.connect()
        try:
            took, gathered = [], []
            for _ in range(repeats):
                started = time.perf_counter()
                report.gather(conn, campaign_id, "threshold")
                gathered.append(time.perf_counter() - started)
                started = time.perf_counter()
                body = report.build(conn, campaign_id, settings)
                took.append(time.perf_counter() - started)
        finally:
            conn.close()
            storage.close()
    return {"rows_in_arms": body["assigned"]["offered"] + body["assigned"]["holdout"], "looks": len(body["looks"]),
            "build_s_best": round(min(took), 3), "build_s_median": round(statistics.median(took), 3),
            "query_s_median": round(statistics.median(gathered), 3)}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench campaign-report", description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args(argv)
    result = run(args.rows)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "campaign-report.json").write_text(json.dumps(result, indent=2) + "\n")
    sys.stdout.write(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
