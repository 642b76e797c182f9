"""Schemathesis fuzzes the churn API from its own OpenAPI document: no 500s, no off-schema answers."""
from __future__ import annotations

import re
import subprocess
import sys

from tests.helpers import Gunicorn

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


def run_schemathesis(base_url: str, seconds: int = 30, examples: int = 100) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "schemathesis.cli", "run", f"{base_url}/openapi.json", "--checks", CHECKS,
         "--max-examples", str(examples), "--max-time", str(seconds), "--seed", "1",
         "--generation-database", "none", "--no-color", "--workers", "2", "--request-timeout", "10"],
        capture_output=True, text=True, timeout=seconds * 4 + 60,
    )


def test_fuzzing_the_churn_api_finds_no_500_and_no_schema_break(churn: Gunicorn) -> None:
    done = run_schemathesis(churn.url)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    generated = int(re.search(r"(\d+) generated", done.stdout).group(1))
    assert generated >= 300, done.stdout[-2000:]
    assert "No issues found" in done.stdout
