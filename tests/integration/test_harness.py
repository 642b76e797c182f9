"""The test harness itself: a failing test must show the logs of the servers its fixtures started."""
from __future__ import annotations

import pytest

from tests.helpers import REPO

INNER_TEST = '''
import pytest
from tests.helpers import Gunicorn


@pytest.fixture
def server(tmp_path):
    env = {"MARKETING_DB": str(tmp_path / "m.db"), "MAIL_DIR": str(tmp_path / "mail"), "BACKGROUND": "0"}
    with Gunicorn("marketing_service", env, workers=2) as started:
        yield started


def test_that_fails(server):
    assert server.url == "a failure a developer must be able to diagnose"
'''


def test_a_failing_test_reports_the_log_of_every_server_it_started(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_inner=INNER_TEST)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--rootdir={pytester.path}",
                                          "-o", f"pythonpath={REPO}", "--confcutdir", str(pytester.path), "-c",
                                          str(REPO / "pyproject.toml"), "--import-mode=importlib",
                                          "-p", "tests.conftest", str(pytester.path))
    result.assert_outcomes(failed=1)
    output = result.stdout.str()
    assert "marketing_service log (http://127.0.0.1:" in output
    assert output.count("] worker ") >= 2 and "marketing ready" in output
