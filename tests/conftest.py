"""Shared fixtures: a model trained once per test run by the real `python -m train`; and the run's rules: a skip
fails unless the test is marked optional, a module keeps to one `pytest -n` worker, and so do the load tests,
the JVM tests and the Docker tests of each base image layout."""
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


# Under `make test` (pytest -n 3) a module runs whole on one worker, so its module-scoped servers start once;
# and some tests must not run beside their own kind, so each kind is one work unit, run one test after another
# on one worker: the load tests (they measure what the box serves) and the JVM tests (Spark, PMML: two JVMs at
# once starve two cores). The Docker tests are two units, one per base image layout (DESIGN §6): each builds
# and starts its own images, and the two chains are the longest of the run, so they start first, side by side.
# Said by file (and layout), as the scheduler sees only node ids. (Load that only counts, as in
# test_model_swap and test_metrics_under_load, may share the box.)
UNITS = {"test_compose_postgres.py": "docker-debian", "test_k8s_pods_docker.py": "docker-debian",
         "test_slow_clients.py": "load", "test_soak.py": "load",
         "test_spark_score.py": "jvm", "test_exports.py": "jvm"}
FIRST = ["docker-debian", "docker-official", "jvm", "load"]  # the longest units, started before the rest


def unit_of(nodeid: str) -> str:
    """The work unit of a test: its kind's, or else its module's."""
    module = nodeid.split("::", 1)[0]
    name = module.rsplit("/", 1)[-1]
    if name == "test_compose.py":
        return "docker-official" if "-official]" in nodeid else "docker-debian"
    return UNITS.get(name, module)


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """pytest-xdist's load scheduling by scope, with the units above (its `xdist_group` marks cannot be used
    here: with pytest 9 they no longer reach the scheduler), handed out in the order of the collection, which
    `pytest_collection_modifyitems` puts the longest units first in."""
    from xdist.scheduler import LoadScopeScheduling

    class KindsTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return unit_of(nodeid)

    config.option.loadscopereorder = False  # its own order is by test count, which says nothing of time
    return KindsTogether(config, log)


@pytest.hookimpl(trylast=True)  # after pytest's own reordering by fixture scope, which a stable sort keeps
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        marker = item.get_closest_marker("optional")
        if marker is not None and not marker.kwargs.get("reason"):
            raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.optional needs reason=... (why it may skip)")
    rank = {unit: i for i, unit in enumerate(FIRST)}
    items.sort(key=lambda item: rank.get(unit_of(item.nodeid), len(FIRST)))
