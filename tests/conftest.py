"""Shared fixtures: a model trained once per test session by the real `python -m train`."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import RUNNING, Gunicorn, run_train

pytest_plugins = ["pytester"]


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("model")
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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        marker = item.get_closest_marker("optional")
        if marker is not None and not marker.kwargs.get("reason"):
            raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.optional needs reason=... (why it may skip)")
