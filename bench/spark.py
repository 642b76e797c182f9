"""`python -m bench.spark`: the whole base scored by Spark (local mode) against the same rows through
`/predict/batch`, on one machine (DESIGN §9).

The table: the data set's rows repeated with fresh customerids (`C0000000`, ...), typed as a warehouse holds
them, written once to a temp Parquet. Spark: `python -m churn_service.spark` on it, timed from the
outside (JVM start included) and by the job's own summary line (after Spark is up). HTTP: the churn service
under its shipped gunicorn config (2 workers) with a few client threads posting the same rows, 1000 per
request, JSON encoded as they go. Both answers are checked to agree on how many customers churn.
`--baseline DIR` also runs the job of another checkout (e.g. `git worktree add /tmp/before HEAD~1`) on the
same table in every round, so a change to the job is measured before and after under the same load.
"""
from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from importlib.metadata import version as dist_version
from pathlib import Path
from typing import Any

import orjson
import requests

from bench import machine, train
from harness import DATA, REPO
from harness.servers import Gunicorn

log = logging.getLogger("bench.spark")
RESULTS = REPO / "bench" / "results"
SUMMARY = re.compile(r"scored (\d+) rows, rejected (\d+), in ([\d.]+) s .*Spark start ([\d.]+) s")


def build_table(spark: Any, rows: int, path: Path) -> list[dict[str, Any]]:
    """Write `rows` customers to Parquet; return the base rows in the order row k repeats (k % len(base))."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    base = spark.read.options(header=True, inferSchema=True).csv(str(DATA))
    base = base.withColumn("idx", F.row_number().over(Window.orderBy("customerID")) - 1)
    n = base.count()
    table = (spark.range(rows).withColumn("idx", F.col("id") % n).join(F.broadcast(base), "idx")
             .withColumn("customerID", F.format_string("C%07d", F.col("id"))).drop("idx", "id"))
    table.repartition(4).write.parquet(str(path))  # several files, as a warehouse table has
    return [r.asDict() for r in base.orderBy("idx").drop("idx").collect()]


def run_spark_job(registry: Path, table: Path, out: Path, checkout: Path = REPO) -> dict[str, Any]:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "churn_service.spark", "--registry", str(registry),
                           "--input", str(table), "--output", str(out)], cwd=checkout, capture_output=True, text=True)
    wall = time.monotonic() - started
    if done.returncode != 0:
        raise RuntimeError(f"spark_score failed ({done.returncode}): {done.stderr[-2000:]}")
    line = next(line for line in done.stderr.splitlines() if line.startswith("spark_score: "))
    log.info("%s", line)
    match = SUMMARY.search(line)
    assert match is not None, line
    scored, rejected, seconds, startup = match.groups()
    return {"rows": int(scored), "rejected": int(rejected), "job_seconds": float(seconds),
            "spark_start_seconds": float(startup), "wall_seconds": round(wall, 2),
            "rows_per_s": round(int(scored) / float(seconds)), "rows_per_s_wall": round(int(scored) / wall),
            "summary": line}


def post_batches(url: str, base: list[dict[str, Any]], rows: int, clients: int, per_request: int) -> dict[str, Any]:
    """`rows` customers through /predict/batch by `clients` threads; each encodes its own requests."""
    starts = itertools.count(0, per_request)  # next() on a count is atomic under the GIL
    totals = {"rows": 0, "churn": 0, "errors": 0}
    lock = threading.Lock()

    def client() -> None:
        with requests.Session() as session:
            while (start := next(starts)) < rows:
                chunk = [{**base[k % len(base)], "customerID": f"C{k:07d}"} for k in range(start, min(start + per_request, rows))]
                response = session.post(url, data=orjson.dumps({"customers": chunk}),
                                        headers={"Content-Type": "application/json"}, timeout=120)
                with lock:
                    if response.status_code != 200:
                        totals["errors"] += 1
                        continue
                    predictions = response.json()["predictions"]
                    totals["rows"] += len(predictions)
                    totals["churn"] += sum(p["churn"] for p in predictions)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.monotonic() - started
    return {**totals, "clients": clients, "per_request": per_request, "seconds": round(seconds, 2),
            "rows_per_s": round(totals["rows"] / seconds)}


def markdown(results: dict[str, Any]) -> str:
    m, s, h = results["machine"], results["spark"], results["http"]
    return "\n".join([
        "# Spark batch scoring against /predict/batch", "",
        f"Machine: {m['cores']} cores ({m['cpu']}), Python {m['python']}, pyspark {results['pyspark']}, "
        f"{results['java']}; shared with other work while it ran, so the ratio matters more than the figures.",
        f"Table: {results['rows']:,} customers (the data set's rows repeated with fresh ids), Parquet, model "
        f"{results['model_version']}.", "",
        "| path | rows | seconds | rows/s |", "|---|---|---|---|",
        f"| Spark `local[*]`, job only (after Spark is up) | {s['rows']:,} | {s['job_seconds']:.1f} | {s['rows_per_s']:,} |",
        f"| Spark `local[*]`, whole command (JVM start {s['spark_start_seconds']:.1f} s included) | {s['rows']:,} | "
        f"{s['wall_seconds']:.1f} | {s['rows_per_s_wall']:,} |",
        f"| POST /predict/batch, {h['per_request']} per request, {h['clients']} clients, gunicorn 2 workers | "
        f"{h['rows']:,} | {h['seconds']:.1f} | {h['rows_per_s']:,} |", "",
        f"Spark / HTTP: {results['ratio_job']:.2f}× (job only), {results['ratio_wall']:.2f}× (whole command). "
        f"Both said churn for {results['churn_spark'][0]:,} customers in every run (HTTP errors: {h['errors']}).", "",
        *baseline_lines(results),
        f"Best of {len(results['runs']['spark'])} alternated rounds. Every run (rows/s, 1-minute load average at its "
        "start): Spark " + ", ".join(f"{r['rows_per_s']:,} (load {r['load_1min']:.1f})" for r in results["runs"]["spark"])
        + "; HTTP " + ", ".join(f"{r['rows_per_s']:,} (load {r['load_1min']:.1f})" for r in results["runs"]["http"]) + ".",
        "",
    ])


def baseline_lines(results: dict[str, Any]) -> list[str]:
    if "baseline" not in results["runs"]:
        return []
    before, after = results["baseline"], results["spark"]
    commit = f" ({results['baseline_commit']})" if results.get("baseline_commit") else ""
    return [f"Before and after, the job alone, alternated in the same rounds: baseline checkout{commit} "
            f"{before['rows_per_s']:,} rows/s (runs: " + ", ".join(f"{r['rows_per_s']:,}" for r in results["runs"]["baseline"])
            + f"), this checkout {after['rows_per_s']:,} rows/s: {after['rows_per_s'] / before['rows_per_s']:.2f}×.", ""]


def measure(work: Path, base: list[dict[str, Any]], url: str, rows: int, clients: int,
            rounds: int, baseline: Path | None) -> dict[str, list[dict[str, Any]]]:
    """Spark and HTTP alternated round by round, so a busy neighbour slows both alike; the load average
    at the start of each run is kept beside it."""
    runs: dict[str, list[dict[str, Any]]] = {"spark": [], "http": [], **({"baseline": []} if baseline else {})}
    for round_no in range(1, rounds + 1):
        if baseline is not None:
            log.info("round %d/%d: the baseline's Spark job", round_no, rounds)
            load = os.getloadavg()[0]
            runs["baseline"].append({**run_spark_job(work / "registry", work / "customers.parquet",
                                                     work / f"baseline-{round_no}", baseline), "load_1min": load})
        log.info("round %d/%d: Spark job", round_no, rounds)
        load = os.getloadavg()[0]
        runs["spark"].append({**run_spark_job(work / "registry", work / "customers.parquet", work / f"scores-{round_no}"),
                              "load_1min": load})
        log.info("round %d/%d: /predict/batch, %d clients", round_no, rounds, clients)
        load = os.getloadavg()[0]
        runs["http"].append({**post_batches(url, base, rows, clients, 1000), "load_1min": load})
        log.info("%d rows/s", runs["http"][-1]["rows_per_s"])
    return runs


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    logging.getLogger("py4j").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(prog="python -m bench.spark", description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=4, help="concurrent HTTP clients (default 4)")
    parser.add_argument("--rounds", type=int, default=2, help="alternated rounds; the best of each is kept (default 2)")
    parser.add_argument("--baseline", type=Path, help="another checkout whose job runs too, alternated (before/after)")
    args = parser.parse_args()
    from churn_service.spark.job import start_spark  # pyspark only now, and under the job's settings

    with tempfile.TemporaryDirectory(prefix="bench-spark-") as tmp:
        work = Path(tmp)
        if not train(log, "--registry", work / "registry"):
            return 1
        version = (work / "registry" / "CURRENT").read_text().strip()
        spark = start_spark("local[*]")  # idle while the job and the service run; it writes and reads the tables
        try:
            log.info("writing %d rows to Parquet", args.rows)
            base = build_table(spark, args.rows, work / "customers.parquet")
            with Gunicorn("churn_service", {"MODEL_REGISTRY": str(work / "registry")}, workers=2) as churn:
                runs = measure(work, base, f"{churn.url}/predict/batch", args.rows, args.clients, args.rounds,
                               args.baseline)
            churn_spark = [spark.read.parquet(str(work / f"scores-{r}")).where("decision").count()
                           for r in range(1, args.rounds + 1)]
        finally:
            spark.stop()
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()[0]
    best_spark = max(runs["spark"], key=lambda r: r["rows_per_s"])
    best_http = max(runs["http"], key=lambda r: r["rows_per_s"])
    results = {"machine": machine.describe(), "pyspark": dist_version("pyspark"), "java": java, "rows": args.rows,
               "model_version": version, "spark": best_spark, "http": best_http, "runs": runs,
               "churn_spark": churn_spark, "churn_http": [r["churn"] for r in runs["http"]],
               "ratio_job": best_spark["rows_per_s"] / best_http["rows_per_s"],
               "ratio_wall": best_spark["rows_per_s_wall"] / best_http["rows_per_s"]}
    if args.baseline is not None:
        results["baseline"] = max(runs["baseline"], key=lambda r: r["rows_per_s"])
        results["baseline_commit"] = subprocess.run(["git", "-C", str(args.baseline), "log", "-1", "--format=%h of %cs"],
                                                    capture_output=True, text=True).stdout.strip()
        results["ratio_before_after"] = best_spark["rows_per_s"] / results["baseline"]["rows_per_s"]
    counts = {*churn_spark, *results["churn_http"]}
    if len(counts) != 1 or any(r["rows"] != args.rows for r in [*runs["spark"], *runs["http"]]):
        log.error("the two paths disagree: churn %s by Spark, %s over HTTP", churn_spark, results["churn_http"])
        return 1
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "spark.json").write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / "spark.md").write_text(markdown(results))
    sys.stdout.write(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
