"""Shared fixtures: a model trained once per test session by the real `python -m train`."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import run_train


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("model")
    done = run_train("--output-dir", out)
    assert done.returncode == 0, done.stderr
    return out
