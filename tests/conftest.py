"""Shared fixtures: a model trained once per test run by the real `python -m train`; and the run's rules: a skip
fails unless the test is marked optional, and the Docker, load and JVM tests each keep to one `pytest -n` worker."""
from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import RUNNING, Gunicorn, run_train

pytest_plugins = ["pytester"]


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Trained once per run: under `pytest -n`, the first worker trains it into the run's shared temp dir
    and the others wait for it (tests only read it; one that changes a model copies it first)."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    out = shared / "trained-model"
    with open(shared / "trained-model.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (out / "model.json").exists():
            done = run_train("--output-dir", out)
            assert done.returncode == 0, done.stderr
    return out


@pytest.fixture(scope="session")
def churn(model_dir: Path) -> Iterator[Gunicorn]:
    with Gunicorn("churn_service", {"MODEL_PATH": str(model_dir / "model.bin")}, workers=2) as server:
        yield server



@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    """A failing test's report carries the log of every server still running: pytest does not hand a
    test's exception to yield fixtures, so a fixture's teardown cannot tell that it should print them."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail") and item.get_closest_marker("optional") is None:
        # A skip is a test that did not run: counted as passing it would hide a missing tool or a broken
        # fixture. Only a test marked optional, with its reason, may skip (DESIGN §10).
        report.outcome = "failed"
        report.longrepr = f"skipped, but not marked @pytest.mark.optional(reason=...): {report.longrepr}"
    if report.failed:
        for server in RUNNING:
            report.sections.append((f"{server.service} log ({server.url}), last lines", server.log_tail()))


# Under `make test` (pytest -n 3) some tests must not run beside their own kind, so each kind is one work
# unit, run one test after another on one worker: the Docker tests (they build and start the same images), the
# load tests (they measure what the box serves) and the JVM tests (Spark, PMML: two JVMs at once starve two
# cores). Said by file, as the scheduler sees only node ids. (Load that only counts, as in test_model_swap and
# test_metrics_under_load, may share the box.)
UNITS = {"test_compose.py": "docker", "test_compose_postgres.py": "docker", "test_k8s_pods_docker.py": "docker",
         "test_slow_clients.py": "load", "test_soak.py": "load",
         "test_spark_score.py": "jvm", "test_exports.py": "jvm"}


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """pytest-xdist's load scheduling, with each kind above in one work unit (its `xdist_group` marks cannot be
    used here: with pytest 9 they no longer reach the scheduler)."""
    from xdist.scheduler import LoadScopeScheduling

    class KindsTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return UNITS.get(nodeid.split("::", 1)[0].rsplit("/", 1)[-1], nodeid)

    return KindsTogether(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        marker = item.get_closest_marker("optional")
        if marker is not None and not marker.kwargs.get("reason"):
            raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.optional needs reason=... (why it may skip)")
