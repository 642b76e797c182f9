"""Schemathesis fuzzes the churn API from its own OpenAPI document: no 500s, no off-schema answers."""
from __future__ import annotations

import re

from tests.helpers import Gunicorn, run_schemathesis


def test_fuzzing_the_churn_api_finds_no_500_and_no_schema_break(churn: Gunicorn) -> None:
    # 100 examples per operation end it well inside a minute on a quiet machine; the 90 s cap only matters on a
    # loaded one (30 s once gave 96 cases).
    done = run_schemathesis(churn.url, seconds=90)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    generated = int(re.search(r"(\d+) generated", done.stdout).group(1))
    assert generated >= 300, done.stdout[-2000:]
    assert "No issues found" in done.stdout
