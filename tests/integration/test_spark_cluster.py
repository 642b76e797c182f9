"""`python -m churn_service.spark` on a real standalone Spark cluster: a master and two workers started from
the pyspark package's own `spark-class` on free 127.0.0.1 ports, with neither this checkout on their path
nor its folder as their working directory, so the executors can only score with the code the job ships
them. Its scores and rejects must equal a local-mode run's over the same table, row for row."""
from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pyspark
import pytest
import requests

from tests.helpers import DATA, REPO, free_port, run_train

pytestmark = pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")
SPARK_HOME = Path(pyspark.__file__).parent


def spark_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SPARK_HOME")}
    return env | {"SPARK_HOME": str(SPARK_HOME), "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_LOG_DIR": str(tmp),
                  "SPARK_WORKER_DIR": str(tmp / "work")}


def start(tmp: Path, name: str, *args: str) -> subprocess.Popen[bytes]:
    with open(tmp / f"{name}.log", "wb") as log:  # the child keeps its own descriptor
        return subprocess.Popen([str(SPARK_HOME / "bin" / "spark-class"), *args], cwd=tmp, env=spark_env(tmp),
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def alive_workers(ui: str) -> int:
    try:
        return len([w for w in requests.get(f"{ui}/json/", timeout=2).json()["workers"] if w["state"] == "ALIVE"])
    except (requests.RequestException, ValueError, KeyError):
        return 0


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A standalone master and two one-core workers; yields the master URL, kills every process after."""
    tmp = tmp_path_factory.mktemp("spark-cluster")
    port, ui_port = free_port(), free_port()
    processes = [start(tmp, "master", "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                       "--port", str(port), "--webui-port", str(ui_port))]
    for i in (1, 2):
        processes.append(start(tmp, f"worker-{i}", "org.apache.spark.deploy.worker.Worker", f"spark://127.0.0.1:{port}",
                               "--host", "127.0.0.1", "--port", str(free_port()), "--webui-port", str(free_port()),
                               "--cores", "1", "--memory", "1g", "--work-dir", str(tmp / f"work-{i}")))
    try:
        deadline = time.monotonic() + 120
        while alive_workers(f"http://127.0.0.1:{ui_port}") < 2:
            assert time.monotonic() < deadline, (tmp / "master.log").read_text()[-3000:]
            assert all(p.poll() is None for p in processes), (tmp / "master.log").read_text()[-3000:]
            time.sleep(0.5)
        yield f"spark://127.0.0.1:{port}"
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def read_csv_output(folder: Path) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for part in sorted(folder.glob("part-*.csv")):
        with open(part, newline="") as f:
            rows.extend(csv.DictReader(f))
    return sorted(rows, key=lambda r: json.dumps(r, sort_keys=True))


@pytest.mark.slow
def test_a_standalone_cluster_scores_as_local_mode_does(cluster: str, tmp_path: Path) -> None:
    assert run_train("--registry", tmp_path / "registry", "--folds", "2").returncode == 0
    lines = DATA.read_text().splitlines()
    lines[3] = lines[3].replace("Month-to-month", "Forever").replace("One year", "Forever").replace("Two year", "Forever")
    lines.append("SHORT-1,Female,0")  # a line with too few fields
    (tmp_path / "customers.csv").write_text("\n".join(lines) + "\n")
    outputs = {}
    for name, master, conf in (("local", "local[2]", []),
                               ("cluster", cluster, ["--conf", "spark.executor.memory=512m", "--conf",
                                                     "spark.cores.max=2", "--conf", "spark.driver.host=127.0.0.1"])):
        done = subprocess.run([sys.executable, "-m", "churn_service.spark", "--registry", str(tmp_path / "registry"),
                               "--input", str(tmp_path / "customers.csv"), "--output", str(tmp_path / name),
                               "--format", "csv", "--master", master, *conf],
                              cwd=REPO, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        assert "scored 7042 rows, rejected 2, in " in done.stderr and f"on {master}" in done.stderr
        outputs[name] = (read_csv_output(tmp_path / name), read_csv_output(tmp_path / f"{name}-rejects"))
    assert len(outputs["cluster"][0]) == 7042 and len(outputs["cluster"][1]) == 2
    assert outputs["cluster"] == outputs["local"]
    assert {r["customerid"] for r in outputs["cluster"][1]} == {lines[3].split(",")[0], "SHORT-1"}
