"""`python -m churn_service.spark` for real: a model trained into a registry by `python -m train`, the job
run by Spark in local mode on the data set (CSV and Parquet), its answers compared with the running churn
service's `/predict/batch` for the same rows; bad rows rejected with reasons; one-line refusals."""
from __future__ import annotations

import csv
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.helpers import DATA, REPO, Gunicorn, run_train

# pyspark warns about pandas 3 when its type code checks for numpy; these tests hand Spark no pandas objects.
pytestmark = pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")


def spark_score(*args: str | Path, module: str = "churn_service.spark") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", module, *map(str, args)],
                          cwd=REPO, capture_output=True, text=True, timeout=600)


def summary(done: subprocess.CompletedProcess[str]) -> str:
    [line] = [line for line in done.stderr.splitlines() if line.startswith("spark_score: ")]
    return line


def read_csv_output(folder: Path) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for part in sorted(folder.glob("part-*.csv")):
        with open(part, newline="") as f:
            rows.extend(csv.DictReader(f))
    return rows


def data_rows() -> list[dict[str, str]]:
    with open(DATA, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("spark") / "registry"
    done = run_train("--registry", root, "--folds", "2")  # a model to score with; its CV is not the point
    assert done.returncode == 0, done.stderr
    return root


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    """The test's own Spark, to write a Parquet table and read the job's Parquet output."""
    from pyspark.sql import SparkSession

    session = (SparkSession.builder.master("local[2]").appName("test-spark-score")
               .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false").getOrCreate())
    yield session
    session.stop()


@pytest.fixture(scope="module")
def service_answers(churn: Gunicorn) -> dict[str, dict[str, Any]]:
    """The churn service's answer for every row of the data set, as exported (strings, original spellings)."""
    answers: dict[str, dict[str, Any]] = {}
    rows = data_rows()
    for start in range(0, len(rows), 2000):
        response = requests.post(f"{churn.url}/predict/batch", json={"customers": rows[start:start + 2000]}, timeout=60)
        assert response.status_code == 200, response.text
        for prediction in response.json()["predictions"]:
            answers[prediction["customerid"]] = {**prediction, "model_version": response.json()["model_version"]}
    assert len(answers) == len(rows) == 7043
    return answers


def assert_equal_to_service(scores: list[dict[str, Any]], answers: dict[str, dict[str, Any]], version: str) -> None:
    assert sorted(s["customerid"] for s in scores) == sorted(answers)  # every customer once
    worst = 0.0
    for score in scores:
        answer = answers[score["customerid"]]
        worst = max(worst, abs(float(score["probability"]) - answer["churn_probability"]))
        assert score["decision"] in (answer["churn"], str(answer["churn"]).lower()), score
        assert score["model_version"] == version == answer["model_version"]
    assert worst <= 1e-9, f"largest difference from the service: {worst}"


BAD = {2: {"Contract": "Forever"}, 5: {"tenure": "abc", "MonthlyCharges": "NaN"}, 7: {"customerID": ""}}
BLANK = 9  # this row's TotalCharges is an empty field (Spark reads null): blank, so 0 as in training, not rejected


@dataclass
class CsvJob:
    done: subprocess.CompletedProcess[str]
    folder: Path  # scores/ and scores-rejects/
    rows: list[dict[str, str]]  # as written, before the bad cells
    expected: dict[str, dict[str, Any]]  # the service's answer for each row that should be scored


@pytest.fixture(scope="module")
def csv_job(registry: Path, churn: Gunicorn, service_answers: dict[str, dict[str, Any]],
            tmp_path_factory: pytest.TempPathFactory) -> CsvJob:
    """One job over the data set as a CSV export, with three bad rows, a blank field and a truncated line in
    it: what it scored and what it rejected are the two tests below (one JVM, not two)."""
    rows = data_rows()
    rows[BLANK]["TotalCharges"] = ""
    answer = requests.post(f"{churn.url}/predict/batch", json={"customers": [rows[BLANK]]}, timeout=30).json()
    expected = {r["customerID"]: service_answers[r["customerID"]] for i, r in enumerate(rows) if i not in BAD}
    expected[rows[BLANK]["customerID"]] = answer["predictions"][0] | {"model_version": answer["model_version"]}
    lines = [",".join(rows[0])]
    for i, row in enumerate(rows):
        lines.append(",".join(v if i == BLANK else f'"{v}"' for v in {**row, **BAD.get(i, {})}.values()))
    lines.append('"SHORT-1","Female","0"')  # a truncated line: too few fields for the header
    folder = tmp_path_factory.mktemp("spark-csv")
    (folder / "customers.csv").write_text("\n".join(lines) + "\n")
    done = spark_score("--registry", registry, "--input", folder / "customers.csv", "--output", folder / "scores",
                       "--format", "csv", "--master", "local[2]", "--conf", "spark.sql.shuffle.partitions=4")
    assert done.returncode == 0, done.stderr[-3000:]
    return CsvJob(done, folder, rows, expected)


@pytest.mark.slow
def test_a_csv_table_scores_as_the_service_does(registry: Path, csv_job: CsvJob) -> None:
    assert "scored 7040 rows, rejected 4, in " in summary(csv_job.done) and "rows/s" in summary(csv_job.done)
    assert_equal_to_service(read_csv_output(csv_job.folder / "scores"), csv_job.expected,
                            (registry / "CURRENT").read_text().strip())
    assert sum(1 for _ in (csv_job.folder / "scores").glob("part-*.csv")) >= 1


@pytest.mark.slow
def test_bad_rows_are_rejected_with_their_reason_and_the_rest_scored(csv_job: CsvJob) -> None:
    folder, rows = csv_job.folder, csv_job.rows
    rejects = {r["customerid"]: r for r in read_csv_output(folder / "scores-rejects")}
    assert set(rejects) == {rows[2]["customerID"], rows[5]["customerID"], "", "SHORT-1"}
    assert rejects[rows[2]["customerID"]]["reason"].startswith("contract: unknown value 'Forever'")
    assert "tenure: must be a number" in rejects[rows[5]["customerID"]]["reason"]
    assert "monthlycharges: must be a finite number" in rejects[rows[5]["customerID"]]["reason"]
    assert "customerid" in rejects[""]["reason"]
    assert rejects["SHORT-1"]["reason"].startswith("malformed CSV line") and "SHORT-1" in rejects["SHORT-1"]["record"]
    assert '"Forever"' in rejects[rows[2]["customerID"]]["record"]  # the row as read, to fix and resubmit
    scored = {s["customerid"] for s in read_csv_output(folder / "scores")}
    assert rows[BLANK]["customerID"] in scored and not scored & set(rejects)


@pytest.mark.slow
def test_a_parquet_table_scores_as_the_service_does(registry: Path, spark: Any,
                                                    service_answers: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    # Typed columns, as a warehouse table has them: tenure and SeniorCitizen integers, MonthlyCharges a double.
    table = spark.read.options(header=True, inferSchema=True).csv(str(DATA))
    assert dict(table.dtypes)["tenure"] == "int" and dict(table.dtypes)["MonthlyCharges"] == "double"
    table.write.parquet(str(tmp_path / "customers.parquet"))
    current = (registry / "CURRENT").read_text().strip()
    done = spark_score("--model", registry / current / "model.bin", "--input", tmp_path / "customers.parquet",
                       "--output", tmp_path / "out")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "scored 7043 rows, rejected 0" in summary(done)
    scores = [row.asDict() for row in spark.read.parquet(str(tmp_path / "out")).collect()]
    assert set(scores[0]) == {"customerid", "probability", "decision", "model_version"}
    assert_equal_to_service(scores, service_answers, current)
    rejects = spark.read.parquet(str(tmp_path / "out-rejects"))  # none, but still a table a pipeline can read
    assert rejects.columns == ["customerid", "reason", "record"] and rejects.count() == 0


def test_a_missing_input_is_one_line_and_exit_2(registry: Path, tmp_path: Path) -> None:
    done = spark_score("--registry", registry, "--input", tmp_path / "nope.csv", "--output", tmp_path / "scores")
    assert done.returncode == 2
    assert done.stderr == f"error: input {tmp_path / 'nope.csv'} not found\n"
    assert not (tmp_path / "scores").exists()


def test_the_commands_first_name_still_runs_the_job(registry: Path, tmp_path: Path) -> None:
    done = spark_score("--registry", registry, "--input", tmp_path / "nope.csv", "--output", tmp_path / "scores",
                       module="churn_service.spark_score")
    assert (done.returncode, done.stderr) == (2, f"error: input {tmp_path / 'nope.csv'} not found\n")


def test_a_registry_without_a_model_is_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    done = spark_score("--registry", tmp_path / "empty", "--input", DATA, "--output", tmp_path / "scores")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and done.stderr.startswith(f"error: {tmp_path / 'empty'}/CURRENT not found")


def test_the_service_does_not_need_pyspark() -> None:
    """The churn image has no Spark: importing the service, and this job's module, must not import pyspark."""
    code = ("import sys, churn_service, churn_service.spark.job, churn_service.spark.rows; "
            "churn_service.create_app; sys.exit('pyspark' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


@pytest.mark.slow
def test_a_table_spark_cannot_read_is_one_error_line_and_exit_1(registry: Path, tmp_path: Path) -> None:
    done = spark_score("--registry", registry, "--input", DATA, "--input-format", "parquet", "--output", tmp_path / "out")
    assert done.returncode == 1
    [error] = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert error.startswith("error: Spark failed: ") and "Parquet" in error and "o30" not in error
    assert not (tmp_path / "out").exists()


ODD = {  # per column, values the column path must read exactly as the contract does, or leave to the row path
    "tenure": ["5", " 5 ", "5.0", "5.5", "", "-1", "1e1", "NaN", "1201", "0012"],
    "MonthlyCharges": ["29.85", " 29.85", "", "inf", "1_000", "100000.0000000001", "0.1", "7"],
    "TotalCharges": ["", " ", "29.85", "1e3", "abc", "10000000", "10000000.5", "3.14159265358979323846"],
    "SeniorCitizen": ["0", "1", "true", " False", "1.0", "2", ""],
    "Contract": ["Month-to-month", " ONE year", "two_year", "Forever", ""],
    "customerID": ["X-1", "", "x" * 64, "x" * 65],
}


def test_the_column_path_decides_as_the_row_path_does(registry: Path) -> None:
    """Every odd spelling, blank and out-of-range value, in a CSV's string columns and in typed ones: the
    Arrow column path gives each row the outcome the service's row path gives it (scores equal, reasons equal)."""
    import pyarrow as pa  # type: ignore[import-untyped]

    from churn_service.model.kernel import build_kernel
    from churn_service.registry import current_model_path
    from churn_service.serving import load_serving
    from churn_service.spark.columns import score_batch
    from churn_service.spark.rows import BroadcastModel, score_rows

    serving = load_serving(current_model_path(registry))
    model = BroadcastModel(serving.version, serving.threshold, serving.scorer)
    base = data_rows()[:40]
    rows = [{**base[i % len(base)], column: value, "customerID": f"C{column}{i}"}
            for column, values in ODD.items() for i, value in enumerate(values)]
    rows += [{**base[i], "customerID": ODD["customerID"][i]} for i in range(4)]
    typed = [{**row, "tenure": int(row["tenure"]), "MonthlyCharges": float(row["MonthlyCharges"]),
              "SeniorCitizen": int(row["SeniorCitizen"])} for row in base]
    typed += [{**typed[0], "tenure": None}, {**typed[1], "tenure": 5.0}, {**typed[2], "tenure": 5.5},
              {**typed[3], "MonthlyCharges": float("nan")}, {**typed[4], "SeniorCitizen": 2}]
    for table, from_csv in ((rows, True), (rows[:-3], False), (typed, False)):
        batch = pa.RecordBatch.from_pylist(table)
        by_columns = score_batch(batch, model, build_kernel(model.scorer), from_csv).to_pylist()
        by_rows = [dict(zip(("status", "customerid", "probability", "decision", "reason", "record"), outcome,
                            strict=True)) for outcome in score_rows(batch.to_pylist(), model, from_csv)]
        assert sorted(by_columns, key=repr) == sorted(by_rows, key=repr)
        assert {o["status"] for o in by_columns} == {"scored", "rejected"}
