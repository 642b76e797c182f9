"""`python -m churn_service.spark`: score a whole customer table with Apache Spark (DESIGN §9).

    python -m churn_service.spark --registry DIR --input customers.csv|customers.parquet \\
        --output OUT [--format parquet|csv] [--rejects REJ] [--overwrite] [--master local[*]] [--conf K=V ...]

The model is the registry's CURRENT one (or `--model PATH`), loaded and verified on the driver by the
service's own loader, then broadcast to the executors as its compiled scorer. Rows reach Python as Arrow
batches (`mapInArrow`) and go through the feature contract and the model's column kernel (`columns.py`), so a
probability equals what `/predict/batch` answers for the same row. The executors get this repository's
packages from the job itself (`ship.py`), so `--master spark://...` works on a cluster as `local[*]` does.
OUT gets customerid, probability, decision, model_version; rows that fail validation go to REJ (default OUT
with `-rejects` added to its name) as customerid, reason, record (an empty table when there are none). Exit 0
when the job ran (rejects included), 2 for an unusable input, output or model (one line, before Spark starts),
1 if Spark failed.

pyspark and pyarrow are imported only inside the functions that need them: the churn image has neither.
"""
from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import tempfile
import time
import warnings
from functools import partial
from pathlib import Path
from typing import Any

from churn_service.model.artifact import ArtifactError
from churn_service.registry import current_model_path
from churn_service.serving import load_serving
from churn_service.spark.rows import CORRUPT_COLUMN, REJECTED, SCORED, BroadcastModel
from churn_service.spark.ship import package_zip

log = logging.getLogger("spark_score")


class JobError(Exception):
    """The job cannot start; the message is the one line the user sees."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m churn_service.spark", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    model = parser.add_mutually_exclusive_group(required=True)
    model.add_argument("--registry", type=Path, help="model registry folder: its CURRENT version scores")
    model.add_argument("--model", type=Path, help="one artifact, model.bin with its model.json beside it")
    parser.add_argument("--input", type=Path, required=True, help="customer table: a CSV file or Parquet file/folder")
    parser.add_argument("--input-format", choices=("csv", "parquet"), help="default: csv for *.csv, else parquet")
    parser.add_argument("--output", type=Path, required=True, help="folder Spark writes the scores into")
    parser.add_argument("--format", choices=("parquet", "csv"), default="parquet", help="output format (default parquet)")
    parser.add_argument("--rejects", type=Path, help="folder for rejected rows (default: OUT-rejects)")
    parser.add_argument("--overwrite", action="store_true", help="replace OUT and REJ if they exist")
    parser.add_argument("--master", default="local[*]", help="Spark master URL (default local[*])")
    parser.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE",
                        help="a Spark setting, repeatable (e.g. spark.driver.memory=4g)")
    args = parser.parse_args(argv)
    if bad := [c for c in args.conf if "=" not in c]:
        parser.error(f"--conf wants KEY=VALUE, got {bad[0]!r}")
    args.conf = dict(c.split("=", 1) for c in args.conf)
    args.input_format = args.input_format or ("csv" if args.input.suffix.lower() == ".csv" else "parquet")
    args.rejects = args.rejects or args.output.with_name(f"{args.output.stem}-rejects{args.output.suffix}")
    return args


def load_model(args: argparse.Namespace) -> BroadcastModel:
    """The verified model, by the service's rules (hash, restricted unpickling, features in the contract)."""
    try:
        path = current_model_path(args.registry) if args.registry is not None else args.model
        serving = load_serving(path)
    except ArtifactError as exc:
        raise JobError(str(exc)) from None
    if args.registry is not None and serving.version != path.parent.name:
        raise JobError(f"{path.parent} holds model version {serving.version}, not {path.parent.name}")
    return BroadcastModel(serving.version, serving.threshold, serving.scorer)


def check_paths(args: argparse.Namespace) -> None:
    if not args.input.exists():
        raise JobError(f"input {args.input} not found")
    for out in (args.output, args.rejects):
        if out.exists() and not args.overwrite:
            raise JobError(f"{out} already exists; pass --overwrite to replace it")


def start_spark(master: str, conf: dict[str, str] | None = None) -> Any:
    from pyspark.sql import SparkSession

    # Python workers run this interpreter (its packages: the model code), unless the user chose another.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    # pyspark warns about pandas 3 when it checks for numpy; this job hands Spark no pandas objects.
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
    builder = (SparkSession.builder.master(master).appName("churn-spark-score")
               .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false"))
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def read_table(spark: Any, path: Path, input_format: str) -> Any:
    """Every column as the file holds it. CSV is read as strings, as the service's CSV readers see it, with
    lines whose field count differs from the header's kept in CORRUPT_COLUMN (rejected, not guessed at)."""
    from pyspark.sql.types import StringType, StructField, StructType

    if input_format == "parquet":
        return spark.read.parquet(str(path))
    header = spark.read.option("header", True).csv(str(path)).columns
    schema = StructType([StructField(name, StringType()) for name in [*header, CORRUPT_COLUMN]])
    return (spark.read.schema(schema).option("header", True).option("mode", "PERMISSIVE")
            .option("columnNameOfCorruptRecord", CORRUPT_COLUMN).csv(str(path)))


class Tally:
    """How many rows the scoring pass scored and rejected, counted by the executors (Spark accumulators): the
    summary line's numbers, and whether the rejects need a pass of their own."""

    def __init__(self, spark: Any):
        self.scored, self.rejected = spark.sparkContext.accumulator(0), spark.sparkContext.accumulator(0)

    def counts(self) -> dict[str, int]:
        return {SCORED: self.scored.value, REJECTED: self.rejected.value}


def score_table(spark: Any, table: Any, model: BroadcastModel, from_csv: bool, tally: Tally) -> Any:
    """One DataFrame of outcomes (status, customerid, probability, decision, reason, record). The rows reach
    Python as Arrow batches (`mapInArrow`) and are checked and scored column by column; `tally` counts them."""
    from pyspark.sql.types import BooleanType, DoubleType, StringType, StructField, StructType

    from churn_service.spark.columns import score_partition  # pyarrow, like pyspark, is only the job's

    parallelism = spark.sparkContext.defaultParallelism
    if table.rdd.getNumPartitions() < parallelism:  # a single CSV file is one partition: use every core
        table = table.repartition(parallelism)
    broadcast = spark.sparkContext.broadcast(model)
    schema = StructType([StructField("status", StringType()), StructField("customerid", StringType()),
                         StructField("probability", DoubleType()), StructField("decision", BooleanType()),
                         StructField("reason", StringType()), StructField("record", StringType())])
    counters = (tally.scored, tally.rejected)
    return table.mapInArrow(partial(score_partition, model=broadcast, from_csv=from_csv, counters=counters), schema)


def write(frame: Any, path: Path, fmt: str, overwrite: bool) -> None:
    writer = frame.write.mode("overwrite" if overwrite else "errorifexists").format(fmt)
    if fmt == "csv":
        writer = writer.option("header", True).option("escape", '"')  # RFC 4180 "" quotes, not Spark's \"
    writer.save(str(path))


def run(args: argparse.Namespace, model: BroadcastModel) -> dict[str, float]:
    """One pass reads, scores and writes the scores; the rejects get a second pass only when the first met
    some (a clean table is read once, with nothing cached: caching the outcomes cost more than the rare second
    pass over a table with bad rows, which scores every row again, deterministically, and keeps its rejects)."""
    from pyspark.sql import functions as F

    started = time.monotonic()
    spark = start_spark(args.master, args.conf)
    try:
        with tempfile.TemporaryDirectory(prefix="churn-spark-") as shipped:
            spark.sparkContext.addPyFile(str(package_zip(Path(shipped))))  # the executors' copy of our code
            ready = time.monotonic()
            tally = Tally(spark)
            table = read_table(spark, args.input, args.input_format)
            outcomes = score_table(spark, table, model, args.input_format == "csv", tally)
            scored = outcomes.where(F.col("status") == SCORED).select(
                "customerid", "probability", "decision", F.lit(model.version).alias("model_version"))
            write(scored, args.output, args.format, args.overwrite)
            counts = tally.counts()  # before the rejects' pass, which counts every row again
            rejects = outcomes.where(F.col("status") == REJECTED).select("customerid", "reason", "record")
            write(rejects if counts[REJECTED] else spark.createDataFrame([], rejects.schema), args.rejects, args.format,
                  args.overwrite)
            done = time.monotonic()
    finally:
        spark.stop()
    return {"scored": counts[SCORED], "rejected": counts[REJECTED],
            "seconds": done - ready, "startup_seconds": ready - started}


def _one_line(exc: Exception) -> str:
    """The line of a Spark error that says what went wrong: the last `SomeError: message` line (a Python
    worker's own exception comes after the JVM's wrapper), not py4j's "An error occurred while calling o30"."""
    lines = [line.strip().lstrip(": ") for line in str(exc).splitlines() if line.strip()] or [type(exc).__name__]
    raised = [line for line in lines if RAISED.match(line)]
    return (raised[-1] if raised else lines[0])[:500]


RAISED = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception): ")


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    logging.getLogger("py4j").setLevel(logging.WARNING)
    args = parse_args(argv)
    try:
        check_paths(args)
        model = load_model(args)
    except JobError as exc:
        log.error("error: %s", exc)
        return 2
    log.info("scoring %s with model %s (threshold %g) on %s", args.input, model.version, model.threshold, args.master)
    try:
        result = run(args, model)
    except Exception as exc:  # Spark's own errors (AnalysisException, Py4JJavaError) carry pages of JVM trace
        log.debug("Spark failed", exc_info=True)
        log.error("error: Spark failed: %s", _one_line(exc))
        return 1
    rows = result["scored"] + result["rejected"]
    log.info("spark_score: scored %d rows, rejected %d, in %.2f s (%.0f rows/s; Spark start %.1f s), model %s, "
             "scores in %s, rejects in %s", result["scored"], result["rejected"], result["seconds"],
             rows / result["seconds"] if result["seconds"] else 0.0, result["startup_seconds"], model.version,
             args.output, args.rejects)
    return 0


if __name__ == "__main__":
    sys.exit(main())
